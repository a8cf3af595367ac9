import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import test, { type ExecutionContext } from 'ava';
import { moduleRoutes } from '../../../server/src/admin/modules/routes.js';
import { PullLeaseRepository } from '../../../server/src/db/pull-leases.js';
import { createModuleFetcher } from '../../../server/src/modules/fetch.js';
import { createGitClient } from '../../../server/src/modules/git.js';
import { createModuleIngest } from '../../../server/src/modules/ingest.js';
import type { ModuleUpstream } from '../../../server/src/modules/ports.js';
import { startGitServer } from '../../fixtures/git-server.js';
import { startAdmin } from '../routes/helpers.js';
import { address, createModuleWorld } from './helpers.js';

const admin = { token: 'admin-token' };
const net = address('acme', 'net', 'aws');

/** A git server, a module world and a fetcher over git only (no archives), all torn down with the test. */
async function driftWorld(t: ExecutionContext, gitTimeoutMs?: number) {
  const git = await startGitServer();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-admin-drift-'));
  const w = await createModuleWorld();
  t.teardown(async () => {
    await git.close();
    w.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const fetcher = createModuleFetcher({
    limits: { maxDownloadBytes: 1 << 20, maxTreeBytes: 1 << 20, maxEntries: 100 },
    stagingDir: path.join(tmp, 'staging'),
    http: { request: () => Promise.reject(new Error('no archives in this test')) } as never,
    git: createGitClient({ reach: { requireHttps: true, allowPrivate: true }, extraCaFile: git.caFile, tempDir: tmp, ...(gitTimeoutMs ? { timeoutMs: gitTimeoutMs } : {}) }),
  });
  return { git, w, fetcher };
}

async function storedTree(w: Awaited<ReturnType<typeof createModuleWorld>>, key: string): Promise<string> {
  const object = await w.store.get(key);
  const chunks: Buffer[] = [];
  for await (const c of object.body) chunks.push(c as Buffer);
  return zlib.gunzipSync(Buffer.concat(chunks)).toString('latin1');
}

/**
 * A module pinned from a real git server over smart HTTPS; the upstream then
 * moves the tag. The drift check reports it, the held version keeps its
 * commit and archive, and a check after the tag moves back clears it.
 */
test('a moved tag is reported as drift while the pinned commit keeps being served', async (t) => {
  const { git, w, fetcher } = await driftWorld(t);
  const pinned = await git.createRepo('net', { 'modules/sub/main.tf': 'variable "cidr" {}\n' });
  await git.tag('net', 'v1.2.0');
  const upstream: ModuleUpstream = {
    hostname: net.hostname,
    listVersions: async () => ['1.2.0'],
    downloadLocation: async () => `git::${git.repoUrl('net')}//modules/sub?ref=v1.2.0`,
  };
  const ingest = createModuleIngest({ repos: w, leases: new PullLeaseRepository(w.db), store: w.store, fetcher, upstreams: () => upstream });
  const held = await ingest.ingest(net, '1.2.0', { kind: 'loaded' });
  t.is(held.row.commit, pinned);

  const server = await startAdmin(moduleRoutes({ modules: w.modules, store: w.store, invalidate: w.invalidate, refs: fetcher }));
  t.teardown(() => server.close());
  const id = held.row.moduleId;

  const unchanged = await server.call('POST', `/modules/${id}/drift`, admin);
  t.is(unchanged.status, 200);
  t.like(unchanged.body, { checked: 1, drifted: [], problems: [] });
  t.is(unchanged.body.module.versions[0].drift, null);
  t.regex(unchanged.body.module.versions[0].driftCheckedAt, /^\d{4}-/);

  const moved = await git.moveTag('net', 'v1.2.0', { 'modules/sub/main.tf': 'variable "cidr" { default = "10.0.0.0/8" }\n' });
  t.not(moved, pinned);
  const drifted = await server.call('POST', `/modules/${id}/drift`, admin);
  t.is(drifted.status, 200);
  t.like(drifted.body, { checked: 1, drifted: ['1.2.0'] });
  const version = drifted.body.module.versions[0];
  t.like(version, { version: '1.2.0', sourceKind: 'git', commit: pinned, subdir: 'modules/sub', drift: { upstreamCommit: moved } });
  t.like(server.audit.at(-1), { action: 'module.drift-check', outcome: 'success', details: { checked: 1, drifted: ['1.2.0'] } });
  // The detail keeps saying so until the next check.
  t.like((await server.call('GET', `/modules/${id}`, admin)).body.versions[0], { commit: pinned, drift: { upstreamCommit: moved } });

  // Served bytes: the same archive, the pinned tree; asking for the version again fetches nothing.
  const row = w.modules.findVersion(id, '1.2.0')!;
  t.is(row.archiveKey, held.row.archiveKey);
  t.is(row.sha256, held.row.sha256);
  const tree = await storedTree(w, row.archiveKey);
  t.true(tree.includes('variable "cidr" {}'));
  t.false(tree.includes('10.0.0.0/8'));
  const again = await ingest.ingest(net, '1.2.0', { kind: 'pulled' });
  t.false(again.fetched);
  t.is(again.row.commit, pinned);

  await git.tag('net', 'v1.2.0', { rev: pinned, force: true });
  const back = await server.call('POST', `/modules/${id}/drift`, admin);
  t.like(back.body, { checked: 1, drifted: [] });
  t.is(back.body.module.versions[0].drift, null);
});

test('a drift check reports a ref gone upstream and an unreachable git server as problems, and keeps the pin', async (t) => {
  const { git, w, fetcher } = await driftWorld(t, 10_000);
  const pinned = await git.createRepo('net', { 'main.tf': 'output "x" { value = 1 }\n' });
  const { row } = w.modules.recordVersion(
    net,
    { version: '0.9.0', location: `git::${git.repoUrl('net')}?ref=v0.9.0`, sourceKind: 'git', commit: pinned, archiveKey: 'modules/x/0.9.0.tar.gz', sha256: 'b'.repeat(64), size: 1, files: 1 },
    { kind: 'loaded' },
  );
  const server = await startAdmin(moduleRoutes({ modules: w.modules, store: w.store, invalidate: w.invalidate, refs: fetcher }));
  t.teardown(() => server.close());

  const gone = await server.call('POST', `/modules/${row.moduleId}/drift`, admin);
  t.is(gone.status, 200);
  t.like(gone.body, { checked: 1, drifted: [] });
  t.regex(gone.body.problems[0].message, /ref v0\.9\.0 no longer exists upstream; still serving/);

  await git.stop();
  const down = await server.call('POST', `/modules/${row.moduleId}/drift`, admin);
  t.is(down.status, 200);
  t.is(down.body.problems.length, 1);
  t.is(down.body.problems[0].version, '0.9.0');
  t.is(w.modules.findVersion(row.moduleId, '0.9.0')!.commit, pinned);
});
