import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { loadSetup } from '../fixtures/load-setup.js';
import { findTerraform, lockHashes, terraform, terraformWorkspace } from '../fixtures/terraform.js';
import { runCli, startServe } from '../fixtures/tfmirror.js';

const tf = findTerraform();
if (!tf) console.log('# skipping end-to-end tests with terraform: the terraform CLI is not on PATH');
const e2e = tf ? test : test.skip;

e2e('a configuration directory warms a mirror terraform then installs from, and the lock file terraform writes warms a second mirror', async (t) => {
  const s = await loadSetup([{ namespace: 'hashicorp', type: 'null', versions: { '3.1.0': ['linux_amd64'], '3.2.0': ['linux_amd64', 'darwin_arm64'], '4.0.0': ['linux_amd64'] } }]);
  t.teardown(() => s.close());
  const mainTf = `terraform {\n  required_providers {\n    null = { source = "hashicorp/null", version = "~> 3.1" }\n  }\n}\n`;
  const ws = terraformWorkspace(s.dir, 'https://placeholder.invalid/', mainTf);

  const warmed = await runCli(['load', ws.cwd, '--platform', 'linux_amd64'], s.env);
  t.is(warmed.code, 0, warmed.stdout + warmed.stderr);
  t.regex(warmed.stdout, /1 loaded/);

  const server = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_PULL_THROUGH_ENABLED: 'false' });
  t.teardown(() => server.stop());
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;
  const rc = path.join(s.dir, 'terraformrc');
  fs.writeFileSync(rc, `provider_installation {\n  network_mirror {\n    url = "${server.url}"\n  }\n}\n`);
  s.registry.resetCounters();
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
  t.is(init.code, 0, init.output);
  t.is(s.registry.requests(), 0, 'everything came from the warmed mirror');
  const locked = lockHashes(ws.cwd, 'registry.terraform.io/hashicorp/null')!;
  t.is(locked.version, '3.2.0');

  // A second, empty mirror on the same upstream, warmed from the lock file terraform wrote.
  const second = { ...s.env, TFM_DATA_DIR: path.join(s.dir, 'second') };
  const fromLock = await runCli(['load', path.join(ws.cwd, '.terraform.lock.hcl'), '--platform', 'linux_amd64'], second);
  t.is(fromLock.code, 0, fromLock.stdout + fromLock.stderr);
  t.regex(fromLock.stdout, /1 loaded, 0 already held, 0 failed/);
  const db = new Database(path.join(s.dir, 'second', 'tfmirror.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT filename, h1 FROM provider_packages').all() as { filename: string; h1: string }[];
    t.deepEqual(rows.map((r) => r.filename), ['terraform-provider-null_3.2.0_linux_amd64.zip']);
    t.true(locked.hashes.includes(rows[0]!.h1), 'the package matches the lock terraform wrote');
  } finally {
    db.close();
  }
});
