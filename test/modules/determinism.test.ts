import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { extractArchive } from '../../server/src/modules/extract.js';
import { createModuleFetcher } from '../../server/src/modules/fetch.js';
import { packTree } from '../../server/src/modules/pack.js';
import type { GitClient, ModuleLimits } from '../../server/src/modules/ports.js';
import { parseLocation } from '../../server/src/modules/source.js';
import { checkTree } from '../../server/src/modules/tree.js';
import { upstreamHttpClient } from '../../server/src/upstream/upstream-http.js';
import { type TarSpec, tarGz, zipBytes } from '../fixtures/module-archives.js';
import { type StaticServer, startStaticServer } from '../fixtures/static-server.js';

const limits: ModuleLimits = { maxDownloadBytes: 1 << 20, maxTreeBytes: 1 << 20, maxEntries: 500 };
const noGit: GitClient = {
  checkout: () => Promise.reject(new Error('no git here')),
  lsRemote: () => Promise.reject(new Error('no git here')),
};

const tree: TarSpec[] = [
  { name: 'main.tf', content: 'module "a" {}\n' },
  { name: 'modules/a/main.tf', content: 'a\n' },
  { name: 'modules/a/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
  { name: 'modules/b/', type: 'directory' },
  { name: 'modules/b/x.tf', content: 'b\n' },
  { name: 'README.md', content: '# net\n' },
];

let root: string;

test.before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tfm-determinism-'));
});

test.after.always(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** Unpacks, checks and packs one archive; returns the packed bytes. */
async function repack(bytes: Buffer, format: 'tar.gz' | 'zip'): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(root, 'repack-'));
  try {
    await fs.writeFile(path.join(dir, 'in'), bytes);
    await fs.mkdir(path.join(dir, 'tree'));
    await extractArchive(path.join(dir, 'in'), format, path.join(dir, 'tree'), limits);
    await checkTree(path.join(dir, 'tree'), limits);
    await packTree(path.join(dir, 'tree'), path.join(dir, 'out.tar.gz'));
    return await fs.readFile(path.join(dir, 'out.tar.gz'));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

test('the same tree from two archives with different entry orders, times, owners and modes packs to the same bytes', async (t) => {
  const first = await repack(tarGz(tree), 'tar.gz');
  const shuffled = [...tree].reverse().map((e, i) => ({ ...e, mtime: 1_600_000_000 + i * 977, uid: 4242, uname: 'builder', ...(e.mode === 0o755 ? { mode: 0o700 } : { mode: 0o600 }) }));
  const second = await repack(tarGz(shuffled), 'tar.gz');
  t.true(first.equals(second));
  // A zip of the same tree (exec bit in its unix mode) packs the same too.
  const zip = await zipBytes(
    tree.map((e) => (e.type === 'directory' ? { name: e.name } : { name: e.name, content: e.content ?? '', mode: e.mode === 0o755 ? 0o100755 : 0o100644 })),
  );
  t.true(first.equals(await repack(zip, 'zip')));
});

test('a changed exec bit or content gives different bytes', async (t) => {
  const base = await repack(tarGz(tree), 'tar.gz');
  const modeChanged = tree.map((e) => (e.name === 'README.md' ? { ...e, mode: 0o755 } : e));
  const contentChanged = tree.map((e) => (e.name === 'README.md' ? { ...e, content: '# net!\n' } : e));
  t.false(base.equals(await repack(tarGz(modeChanged), 'tar.gz')));
  t.false(base.equals(await repack(tarGz(contentChanged), 'tar.gz')));
});

test('any order of the same entries packs to the same bytes', async (t) => {
  const expected = await repack(tarGz(tree), 'tar.gz');
  await fc.assert(
    fc.asyncProperty(fc.shuffledSubarray(tree, { minLength: tree.length, maxLength: tree.length }), fc.integer({ min: 0, max: 2 ** 31 }), async (order, mtime) => {
      const bytes = await repack(tarGz(order.map((e) => ({ ...e, mtime }))), 'tar.gz');
      return bytes.equals(expected);
    }),
    { numRuns: 15 },
  );
  t.pass();
});

test('fetching the same URL twice gives the same sha256', async (t) => {
  const www = path.join(root, 'www');
  await fs.mkdir(www, { recursive: true });
  await fs.writeFile(path.join(www, 'net.tgz'), tarGz(tree));
  const server: StaticServer = await startStaticServer(www);
  t.teardown(() => server.close());
  const stagingDir = path.join(root, 'staging');
  const fetcher = createModuleFetcher({ limits, stagingDir, http: upstreamHttpClient({ ca: server.caPem }, server.url), git: noGit });
  const location = parseLocation(new URL('net.tgz', server.url).toString(), server.url, { allowHttp: false });
  const a = await fetcher.fetch(location);
  const b = await fetcher.fetch(location);
  t.not(a.file, b.file);
  t.is(a.sha256, b.sha256);
  t.is(a.size, b.size);
  t.true((await fs.readFile(a.file)).equals(await fs.readFile(b.file)));
  t.is(server.requests('/net.tgz'), 2);
});
