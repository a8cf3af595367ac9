import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { loadSetup } from '../fixtures/load-setup.js';
import { findTerraform, lockHashes, terraform, terraformWorkspace } from '../fixtures/terraform.js';
import { runCli, startServe } from '../fixtures/tfmirror.js';

const tf = findTerraform();
if (!tf) console.log('# skipping end-to-end tests with terraform: the terraform CLI is not on PATH');
const e2e = tf ? test : test.skip;

e2e('terraform init installs the newest constraint match that tfmirror load fetched from a signing upstream', async (t) => {
  const s = await loadSetup([
    { namespace: 'hashicorp', type: 'null', versions: { '3.1.0': ['linux_amd64'], '3.2.0': ['linux_amd64'], '3.2.1': ['linux_amd64'], '4.0.0': ['linux_amd64'] } },
  ]);
  t.teardown(() => s.close());
  // The server runs first: load works beside it on the same data, and what it
  // stores shows up in the server without a restart.
  const server = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0' });
  t.teardown(() => server.stop());
  const defs = s.writeDefinitions('defs.yaml', 'providers:\n  - source: hashicorp/null\n    versions: ["~> 3.2"]\n    platforms: [linux_amd64]\n');
  const loaded = await runCli(['load', defs], s.env);
  t.is(loaded.code, 0, loaded.stdout + loaded.stderr);
  t.regex(loaded.stdout, /job \d+ succeeded/);
  t.is(s.packages().length, 2);
  await new Promise((r) => setTimeout(r, 600)); // the server polls for other writers every 500 ms
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;
  const ws = terraformWorkspace(s.dir, server.url, `terraform {\n  required_providers {\n    null = { source = "hashicorp/null", version = ">= 3.0.0, < 4.0.0" }\n  }\n}\n`);
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
  t.is(init.code, 0, init.output);

  t.true(fs.existsSync(path.join(ws.cwd, '.terraform/providers/registry.terraform.io/hashicorp/null/3.2.1/linux_amd64')));
  const lock = lockHashes(ws.cwd, 'registry.terraform.io/hashicorp/null')!;
  t.is(lock.version, '3.2.1');
  const upstreamH1 = s.registry.release('hashicorp', 'null', '3.2.1').packages.get('linux_amd64')!.h1!;
  t.true(lock.hashes.includes(upstreamH1), `lock ${lock.hashes.join(', ')} has the upstream package's ${upstreamH1}`);
});
