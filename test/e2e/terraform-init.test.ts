import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { writeMirrorDirectory } from '../fixtures/mirror-directory.js';
import { findTerraform, lockHashes, terraform, terraformWorkspace } from '../fixtures/terraform.js';
import { runCli, startServe } from '../fixtures/tfmirror.js';

const tf = findTerraform();
if (!tf) console.log('# skipping end-to-end tests with terraform: the terraform CLI is not on PATH');
const e2e = tf ? test.serial : test.skip;

const mainTf = `terraform {
  required_providers {
    null   = { source = "hashicorp/null", version = "~> 3.1" }
    random = { source = "example.com/acme/random", version = ">= 1.0.0" }
  }
}
`;

e2e('terraform init installs imported providers through the zero-config HTTPS server', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-e2e-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const archives = await writeMirrorDirectory(path.join(dir, 'export'), [
    { namespace: 'hashicorp', type: 'null', versions: { '3.1.0': ['linux_amd64'], '3.2.0': ['linux_amd64', 'darwin_arm64'], '4.0.0': ['linux_amd64'] } },
    { hostname: 'example.com', namespace: 'acme', type: 'random', versions: { '1.0.0': ['linux_amd64'] } },
  ]);
  const env = { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '127.0.0.1:0' };

  const imported = await runCli(['import', path.join(dir, 'export')], env);
  t.is(imported.code, 0, imported.stderr + imported.stdout);
  t.regex(imported.stdout, /5 imported, 0 already held, 0 refused/);

  const server = await startServe(env);
  t.teardown(() => server.stop());
  t.regex(server.stderr(), /network_mirror \{\s+url = "https:\/\/localhost:\d+\/"/);
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())?.[1];
  t.truthy(bundle, 'the banner tells how to trust the CA');

  const ws = terraformWorkspace(dir, server.url, mainTf);
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
  t.is(init.code, 0, init.output);

  const installed = path.join(ws.cwd, '.terraform/providers/registry.terraform.io/hashicorp/null/3.2.0/linux_amd64');
  t.true(fs.existsSync(path.join(installed, 'terraform-provider-null_v3.2.0_x5')), 'newest ~> 3.1 match installed');
  const nullLock = lockHashes(ws.cwd, 'registry.terraform.io/hashicorp/null');
  const expectedNull = archives.find((a) => a.address.endsWith('/null') && a.version === '3.2.0' && a.platform === 'linux_amd64')!;
  t.is(nullLock?.version, '3.2.0');
  t.true(nullLock!.hashes.includes(expectedNull.h1), `lock ${nullLock!.hashes.join(',')} has ${expectedNull.h1}`);
  const randomLock = lockHashes(ws.cwd, 'example.com/acme/random');
  t.is(randomLock?.version, '1.0.0');
  t.true(randomLock!.hashes.includes(archives.find((a) => a.address.startsWith('example.com'))!.h1));

  t.is(await server.stop(), 0, 'serve exits cleanly on SIGTERM');
});

e2e('terraform providers lock records the h1 of every platform from the mirror', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-e2e-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const archives = await writeMirrorDirectory(path.join(dir, 'export'), [
    { namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64', 'darwin_arm64', 'windows_amd64'] } },
  ]);
  const env = { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '127.0.0.1:0' };
  t.is((await runCli(['import', path.join(dir, 'export')], env)).code, 0);
  const server = await startServe(env);
  t.teardown(() => server.stop());
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;

  const ws = terraformWorkspace(dir, server.url, `terraform {\n  required_providers {\n    null = { source = "hashicorp/null" }\n  }\n}\n`);
  const lock = await terraform(
    ['providers', 'lock', '-no-color', `-net-mirror=${server.url}`, '-platform=linux_amd64', '-platform=darwin_arm64'],
    { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } },
  );
  t.is(lock.code, 0, lock.output);
  const hashes = lockHashes(ws.cwd, 'registry.terraform.io/hashicorp/null')!.hashes;
  for (const platform of ['linux_amd64', 'darwin_arm64']) {
    const a = archives.find((x) => x.platform === platform)!;
    t.true(hashes.includes(a.h1), `${platform} h1 ${a.h1} in ${hashes.join(', ')}`);
  }
  const windows = archives.find((x) => x.platform === 'windows_amd64')!;
  t.false(hashes.includes(windows.h1), 'a platform not asked for is not locked');
});
