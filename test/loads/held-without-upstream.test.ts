import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { jobRoutes } from '../../server/src/admin/jobs/routes.js';
import { heldVersionsIn, planLoad } from '../../server/src/loads/plan.js';
import { parseDefinitions } from '../../server/src/providers/definitions/index.js';
import { RegistryClients } from '../../server/src/upstream/registry.js';
import { UnknownUpstream, UpstreamUnavailable } from '../../server/src/upstream/errors.js';
import type { ProviderRegistry } from '../../server/src/upstream/registry.js';
import { createWorld, fakeRegistries, seedPackage, startAdmin, type World } from '../admin/routes/helpers.js';
import { startProviderSetAdmin } from '../admin/provider-sets/helpers.js';
import { writeMirrorDirectory } from '../fixtures/mirror-directory.js';
import { runCli } from '../fixtures/tfmirror.js';

const NULL = 'registry.terraform.io/hashicorp/null';
const AWS = 'registry.terraform.io/hashicorp/aws';

/** A port nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Every call fails as an unreachable upstream does, and is counted. */
function downRegistries() {
  const calls: string[] = [];
  const fail = (what: string) => {
    calls.push(what);
    return Promise.reject(new UpstreamUnavailable('could not connect to 127.0.0.1:9: ECONNREFUSED', { url: 'https://127.0.0.1:9/' }));
  };
  return {
    calls,
    get(hostname: string): ProviderRegistry {
      return {
        hostname,
        listVersions: (ns, type) => fail(`versions ${ns}/${type}`),
        downloadInfo: () => fail('download'),
        fetchBytes: () => fail('bytes'),
        download: () => fail('archive'),
      };
    },
  };
}

async function seedImported(world: World): Promise<void> {
  for (const [source, version, platform] of [
    [NULL, '3.2.1', 'linux_amd64'],
    [NULL, '3.2.1', 'darwin_arm64'],
    [NULL, '3.1.0', 'linux_amd64'],
    [AWS, '5.31.0', 'linux_amd64'],
  ] as const) {
    await seedPackage(world, { source, version, platform, size: 10, holder: { kind: 'imported' } });
  }
}

async function setup(registries: { get(hostname: string): ProviderRegistry }) {
  const world = await createWorld();
  await seedImported(world);
  const server = await startProviderSetAdmin(world, registries);
  const close = () => server.close().finally(() => world.close());
  const put = (name: string, providers: unknown[]) =>
    server.call('PUT', `/provider-sets/ProviderSet/team-a/${name}`, { token: 'operator-token', body: { uid: `uid-${name}`, generation: 1, kind: 'ProviderSet', spec: { providers } } });
  return { world, server, close, put };
}

/** The operator's rule for the Ready condition (operator/src/decide.ts). */
function isReady(s: { desired: number; ready: number; failed: number; problems: string[] }): boolean {
  return s.desired > 0 && s.ready === s.desired && s.failed === 0 && s.problems.length === 0;
}

test('air gap: a ProviderSet naming only imported versions is Ready with no upstream reachable, and asks it nothing', async (t) => {
  const registries = downRegistries();
  const s = await setup(registries);
  t.teardown(s.close);
  const res = await s.put('core', [
    { source: 'hashicorp/null', versions: ['3.2.1', '3.1.0'], platforms: ['linux_amd64'] },
    { source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['linux_amd64'] },
  ]);
  t.is(res.status, 200, JSON.stringify(res.body));
  t.like(res.body, { desired: 3, ready: 3, failed: 0, pending: 0, jobId: null, problems: [] });
  t.true(isReady(res.body));
  t.is(res.body.notices, undefined, 'nothing was resolved by fallback: no notice');
  t.deepEqual(registries.calls, [], 'no upstream call at all');
});

test('air gap through the real upstream client: the configured upstream refuses connections, the set is still Ready', async (t) => {
  const port = await closedPort();
  const registries = new RegistryClients({ 'registry.terraform.io': { url: `https://127.0.0.1:${port}/` } });
  const s = await setup(registries);
  t.teardown(() => {
    registries.close();
    return s.close();
  });
  const res = await s.put('core', [{ source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64', 'darwin_arm64'] }]);
  t.is(res.status, 200, JSON.stringify(res.body));
  t.true(isReady(res.body), JSON.stringify(res.body));
});

test('a held provider of a hostname with no upstream block is satisfied without refusing the hostname', async (t) => {
  const s = await setup({
    get(hostname) {
      throw new UnknownUpstream(hostname);
    },
  });
  t.teardown(s.close);
  const res = await s.put('core', [{ source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['linux_amd64'] }]);
  t.is(res.status, 200, JSON.stringify(res.body));
  t.true(isReady(res.body));
});

test('constraints resolve against held versions while the upstream is unreachable, and the status says so', async (t) => {
  const registries = downRegistries();
  const s = await setup(registries);
  t.teardown(s.close);
  const res = await s.put('core', [{ source: 'hashicorp/null', versions: ['~> 3.1'], platforms: ['linux_amd64'] }]);
  t.is(res.status, 200, JSON.stringify(res.body));
  t.like(res.body, { desired: 2, ready: 2, failed: 0, problems: [], resolvedVersions: [`${NULL} 3.1.0`, `${NULL} 3.2.1`] });
  t.true(isReady(res.body));
  t.is(res.body.notices.length, 1);
  t.regex(res.body.notices[0], /^registry\.terraform\.io\/hashicorp\/null: upstream unreachable \(.*ECONNREFUSED.*\); resolved against held versions$/);
  t.deepEqual(registries.calls, ['versions hashicorp/null']);
  const status = await s.server.call('GET', '/provider-sets/ProviderSet/team-a/core', { token: 'operator-token' });
  t.deepEqual(status.body.notices, res.body.notices, 'GET shows the notice too');
});

test('while the upstream is unreachable, what is not held is a problem naming it, not a hang or a 502', async (t) => {
  const s = await setup(downRegistries());
  t.teardown(s.close);
  const res = await s.put('core', [
    { source: 'hashicorp/null', versions: ['~> 4.0'], platforms: ['linux_amd64'] },
    { source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['darwin_arm64'] },
  ]);
  t.is(res.status, 200, JSON.stringify(res.body));
  t.deepEqual(res.body.problems, [
    `${NULL}: no held version matches "~> 4.0"`,
    `${AWS} 5.31.0: platform darwin_arm64 is not held`,
  ]);
  t.false(isReady(res.body));
});

test('planning: exact versions all held make no upstream call; one unheld platform asks the upstream', async (t) => {
  const world = await createWorld();
  t.teardown(() => world.close());
  await seedImported(world);
  const registries = fakeRegistries({ [NULL]: [{ version: '3.2.1', protocols: ['5.0'], platforms: [{ os: 'linux', arch: 'amd64' }, { os: 'windows', arch: 'amd64' }] }] });
  const held = heldVersionsIn(world.providers);
  const allHeld = (await parseDefinitions('provider "hashicorp/null" {\n  versions  = ["3.2.1"]\n  platforms = ["linux_amd64", "darwin_arm64"]\n}\n', { format: 'hcl' })).providers;
  const plan = await planLoad(allHeld, (h) => registries.get(h), { held });
  t.deepEqual(registries.calls, []);
  t.deepEqual(plan.items.map((i) => i.platform), ['linux_amd64', 'darwin_arm64']);
  const oneMissing = (await parseDefinitions('provider "hashicorp/null" {\n  versions  = ["3.2.1"]\n  platforms = ["linux_amd64", "windows_amd64"]\n}\n', { format: 'hcl' })).providers;
  const upstreamPlan = await planLoad(oneMissing, (h) => registries.get(h), { held });
  t.deepEqual(registries.calls, [NULL]);
  t.deepEqual(upstreamPlan.items.map((i) => i.platform), ['linux_amd64', 'windows_amd64']);
  t.deepEqual(upstreamPlan.notices, []);
});

test('planning without held knowledge still fails on an unreachable upstream (callers that cannot fall back see the error)', async (t) => {
  const defs = (await parseDefinitions('provider "hashicorp/null" {\n  versions  = ["3.2.1"]\n  platforms = ["linux_amd64"]\n}\n', { format: 'hcl' })).providers;
  const registries = downRegistries();
  await t.throwsAsync(planLoad(defs, (h) => registries.get(h)), { instanceOf: UpstreamUnavailable });
});

test('admin load: held exact versions plan with no upstream call; a constraint falls back to held versions with a notice in the 202', async (t) => {
  const world = await createWorld();
  await seedImported(world);
  const registries = downRegistries();
  const server = await startAdmin(jobRoutes({ jobs: world.jobs, registries, maxAttempts: 1, providers: world.providers }));
  t.teardown(() => server.close().finally(() => world.close()));
  const load = (body: string) => server.call('POST', '/providers/load', { token: 'admin-token', body, contentType: 'application/hcl' });

  const exact = await load('provider "hashicorp/aws" {\n  versions  = ["5.31.0"]\n  platforms = ["linux_amd64"]\n}\n');
  t.is(exact.status, 202, JSON.stringify(exact.body));
  t.deepEqual(exact.body, { jobId: exact.body.jobId, items: 1, problems: [] });
  t.deepEqual(registries.calls, []);

  const constrained = await load('provider "hashicorp/null" {\n  versions  = ["~> 3.0"]\n  latest    = 1\n  platforms = ["linux_amd64"]\n}\n');
  t.is(constrained.status, 202, JSON.stringify(constrained.body));
  t.like(constrained.body, { items: 1, problems: [] });
  t.regex(constrained.body.notices[0], /hashicorp\/null: upstream unreachable .*; resolved against held versions/);
  t.deepEqual(world.jobs.getJob(constrained.body.jobId).items.map((i) => i.version), ['3.2.1']);
});

test('tfmirror load on an air-gapped mirror: held exact versions are already held, constraints resolve against held versions with a notice', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-held-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await writeMirrorDirectory(path.join(dir, 'export'), [{ namespace: 'hashicorp', type: 'null', versions: { '3.1.0': ['linux_amd64'], '3.2.1': ['linux_amd64'] } }]);
  const config = path.join(dir, 'tfmirror.hcl');
  fs.writeFileSync(config, `data_dir = "./data"\nupstream "registry.terraform.io" {\n  url = "https://127.0.0.1:${await closedPort()}/"\n}\n`);
  const env = { TFM_CONFIG: config };
  t.is((await runCli(['import', path.join(dir, 'export')], env)).code, 0);

  const exact = path.join(dir, 'exact.hcl');
  fs.writeFileSync(exact, 'provider "hashicorp/null" {\n  versions  = ["3.1.0", "3.2.1"]\n  platforms = ["linux_amd64"]\n}\n');
  const held = await runCli(['load', exact], env);
  t.is(held.code, 0, held.stdout + held.stderr);
  t.regex(held.stdout, /0 loaded, 2 already held, 0 failed/);
  t.notRegex(held.stdout, /notice/);

  const constrained = path.join(dir, 'constrained.hcl');
  fs.writeFileSync(constrained, 'provider "hashicorp/null" {\n  versions  = ["~> 3.0"]\n  latest    = 1\n  platforms = ["linux_amd64"]\n}\n');
  const res = await runCli(['load', '--dry-run', constrained], env);
  t.is(res.code, 0, res.stdout + res.stderr);
  t.regex(res.stdout, /notice +registry\.terraform\.io\/hashicorp\/null: upstream unreachable \(.*\); resolved against held versions/);
  t.regex(res.stdout, /plan +registry\.terraform\.io\/hashicorp\/null 3\.2\.1 linux_amd64/);
});
