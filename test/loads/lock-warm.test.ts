import anyTest, { type TestFn } from 'ava';
import { jobRoutes } from '../../server/src/admin/jobs/routes.js';
import type { FakeRegistryProvider } from '../fixtures/fake-registry.js';
import { loadSetup, type LoadSetup } from '../fixtures/load-setup.js';
import { runCli } from '../fixtures/tfmirror.js';
import { createWorld, fakeRegistries, startAdmin } from '../admin/routes/helpers.js';

const test = anyTest as TestFn<{ s: LoadSetup }>;

const upstream: FakeRegistryProvider[] = [
  { namespace: 'hashicorp', type: 'null', versions: { '3.1.0': ['linux_amd64'], '3.2.0': ['linux_amd64', 'darwin_arm64'], '4.0.0': ['linux_amd64'] } },
  { namespace: 'acme', type: 'tool', versions: { '1.0.0': ['linux_amd64'] } },
];
const WRONG_ZH = 'zh:' + '0'.repeat(64);
const WRONG_H1 = 'h1:' + 'A'.repeat(43) + '=';

function lockBlock(source: string, version: string, hashes: string[]): string {
  return `provider "${source}" {\n  version     = "${version}"\n  constraints = ">= 1.0.0"\n  hashes = [\n${hashes.map((h) => `    "${h}",\n`).join('')}  ]\n}\n`;
}

function zh(s: LoadSetup, ns: string, type: string, version: string, platform: string): string {
  return `zh:${s.registry.release(ns, type, version).packages.get(platform)!.sha256}`;
}

function h1(s: LoadSetup, ns: string, type: string, version: string, platform: string): string {
  return s.registry.release(ns, type, version).packages.get(platform)!.h1!;
}

test.beforeEach(async (t) => {
  t.context.s = await loadSetup(upstream);
});
test.afterEach.always(async (t) => t.context.s?.close());

test.serial('a lock with a wrong hash is refused for that provider, naming it; the other providers load exactly their pinned versions', async (t) => {
  const { s } = t.context;
  const lock = s.writeDefinitions(
    '.terraform.lock.hcl',
    lockBlock('registry.terraform.io/hashicorp/null', '3.2.0', [zh(s, 'hashicorp', 'null', '3.2.0', 'linux_amd64'), zh(s, 'hashicorp', 'null', '3.2.0', 'darwin_arm64')]) +
      lockBlock('registry.terraform.io/acme/tool', '1.0.0', [WRONG_ZH]),
  );
  const res = await runCli(['load', lock, '--platform', 'linux_amd64', '--platform', 'darwin_arm64'], s.env);
  t.is(res.code, 1, res.stdout + res.stderr);
  t.regex(res.stdout, /problem +registry\.terraform\.io\/acme\/tool 1\.0\.0: platform darwin_arm64 is not offered upstream/);
  t.regex(res.stdout, /failed registry\.terraform\.io\/acme\/tool 1\.0\.0 linux_amd64: registry\.terraform\.io\/acme\/tool 1\.0\.0 linux_amd64: refused, its hashes differ from the lock file/);
  t.regex(res.stdout, /2 loaded, 0 already held, 1 failed/);
  t.deepEqual(s.packages().map((p) => p.filename), ['terraform-provider-null_3.2.0_darwin_arm64.zip', 'terraform-provider-null_3.2.0_linux_amd64.zip']);
  t.is(s.registry.requests(/terraform-provider-tool.*\.zip$/), 0, 'a zh mismatch is known before the download');
  t.deepEqual(s.storedZips(), ['terraform-provider-null_3.2.0_darwin_arm64.zip', 'terraform-provider-null_3.2.0_linux_amd64.zip']);
});

test.serial('a lock holding only the h1 of a platform (written by an init through a network mirror) checks the downloaded archive against it', async (t) => {
  const { s } = t.context;
  const good = s.writeDefinitions('good.lock.hcl', lockBlock('hashicorp/null', '3.1.0', [h1(s, 'hashicorp', 'null', '3.1.0', 'linux_amd64')]));
  const ok = await runCli(['load', good, '--platform', 'linux_amd64'], s.env);
  t.is(ok.code, 0, ok.stdout + ok.stderr);
  t.regex(ok.stdout, /1 loaded/);

  const bad = s.writeDefinitions('bad.lock.hcl', lockBlock('acme/tool', '1.0.0', [WRONG_H1]));
  const refused = await runCli(['load', bad, '--platform', 'linux_amd64'], s.env);
  t.is(refused.code, 1, refused.stdout + refused.stderr);
  t.regex(refused.stdout, /registry\.terraform\.io\/acme\/tool 1\.0\.0 linux_amd64: refused, its hashes differ from the lock file: h1 checksum mismatch/);
  t.deepEqual(s.packages().map((p) => p.filename), ['terraform-provider-null_3.1.0_linux_amd64.zip'], 'nothing of the refused package is recorded');
  t.deepEqual(s.storedZips(), ['terraform-provider-null_3.1.0_linux_amd64.zip'], 'nor stored');
});

test.serial('a package already held is checked against the lock too, not skipped as held', async (t) => {
  const { s } = t.context;
  const defs = s.writeDefinitions('defs.hcl', 'provider "acme/tool" {\n  versions  = ["1.0.0"]\n  platforms = ["linux_amd64"]\n}\n');
  t.is((await runCli(['load', defs], s.env)).code, 0);
  const lock = s.writeDefinitions('.terraform.lock.hcl', lockBlock('registry.terraform.io/acme/tool', '1.0.0', [WRONG_ZH]));
  const res = await runCli(['load', lock, '--platform', 'linux_amd64'], s.env);
  t.is(res.code, 1, res.stdout + res.stderr);
  t.regex(res.stdout, /acme\/tool 1\.0\.0 linux_amd64: refused, its hashes differ from the lock file: the package held has zh:/);
  const right = s.writeDefinitions('right.lock.hcl', lockBlock('registry.terraform.io/acme/tool', '1.0.0', [zh(s, 'acme', 'tool', '1.0.0', 'linux_amd64')]));
  const again = await runCli(['load', right, '--platform', 'linux_amd64'], s.env);
  t.is(again.code, 0, again.stdout);
  t.regex(again.stdout, /0 loaded, 1 already held, 0 failed/);
});

test.serial('a lock file without --platform is refused before any upstream request', async (t) => {
  const { s } = t.context;
  const lock = s.writeDefinitions('.terraform.lock.hcl', lockBlock('hashicorp/null', '3.2.0', [WRONG_ZH]));
  const res = await runCli(['load', lock], s.env);
  t.is(res.code, 2);
  t.regex(res.stderr, /a lock file pins versions and hashes but no platforms: .*--platform/);
  t.is(s.registry.requests(), 0);
});

test('POST /providers/load with a lock file body and ?platform= queues exactly the pinned versions with their hashes', async (t) => {
  const world = await createWorld();
  const linux = { os: 'linux', arch: 'amd64' } as const;
  const darwin = { os: 'darwin', arch: 'arm64' } as const;
  const registries = fakeRegistries({
    'registry.terraform.io/hashicorp/null': [
      { version: '3.2.0', protocols: ['5.0'], platforms: [linux, darwin] },
      { version: '3.2.1', protocols: ['5.0'], platforms: [linux, darwin] },
    ],
  });
  const server = await startAdmin(jobRoutes({ jobs: world.jobs, registries, maxAttempts: 1 }));
  t.teardown(() => server.close().finally(() => world.close()));
  const body = lockBlock('registry.terraform.io/hashicorp/null', '3.2.0', [WRONG_H1, WRONG_ZH]);
  const res = await server.call('POST', '/providers/load?platform=linux_amd64&platform=darwin_arm64', { token: 'admin-token', body, contentType: 'text/plain' });
  t.is(res.status, 202, JSON.stringify(res.body));
  const job = world.jobs.getJob(res.body.jobId);
  t.deepEqual(
    job.items.map((i) => [i.version, i.platform, i.expectedHashes]),
    [
      ['3.2.0', 'linux_amd64', `${WRONG_H1} ${WRONG_ZH}`],
      ['3.2.0', 'darwin_arm64', `${WRONG_H1} ${WRONG_ZH}`],
    ],
  );
  const noPlatform = await server.call('POST', '/providers/load', { token: 'admin-token', body, contentType: 'application/hcl' });
  t.is(noPlatform.status, 400);
  t.regex(noPlatform.body.error.message, /no platforms: .*\?platform=linux_amd64/);
  const badPlatform = await server.call('POST', '/providers/load?platform=plan9_amd64', { token: 'admin-token', body, contentType: 'text/plain' });
  t.is(badPlatform.status, 400);
});
