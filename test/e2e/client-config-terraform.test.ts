import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { loadSetup } from '../fixtures/load-setup.js';
import { findTerraform, lockHashes, terraform } from '../fixtures/terraform.js';
import { startServe } from '../fixtures/tfmirror.js';

const tf = findTerraform();
if (!tf) console.log('# skipping the client-config end-to-end test: the terraform CLI is not on PATH');
const e2e = tf ? test : test.skip;

function httpsGetJson(url: string, ca: Buffer): Promise<{ networkMirror: { hcl: string }; hostsHcl: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false, headers: { accept: 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${res.statusCode}: ${text}`))));
      })
      .on('error', reject);
  });
}

e2e('terraform init installs with either form GET /client-config hands out, pulling through on first use, and both installs are counted', async (t) => {
  const s = await loadSetup([{ namespace: 'acme', type: 'widget', versions: { '1.2.0': ['linux_amd64', 'darwin_arm64'] } }]);
  t.teardown(() => s.close());
  const server = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_PULL_THROUGH_ENABLED: 'true' }, { cwd: s.dir });
  t.teardown(() => server.stop());
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;
  const config = await httpsGetJson(new URL('client-config', server.url).href, fs.readFileSync(bundle));
  const upstream = s.registry.release('acme', 'widget', '1.2.0');

  for (const [form, rc] of [
    ['network_mirror', config.networkMirror.hcl],
    ['host', config.hostsHcl],
  ] as const) {
    const root = path.join(s.dir, form);
    const cwd = path.join(root, 'work');
    fs.mkdirSync(cwd, { recursive: true });
    fs.writeFileSync(path.join(cwd, 'main.tf'), 'terraform {\n  required_providers {\n    widget = { source = "acme/widget", version = "1.2.0" }\n  }\n}\n');
    fs.writeFileSync(path.join(root, 'terraformrc'), rc);
    const env = { PATH: process.env.PATH, HOME: root, TF_CLI_CONFIG_FILE: path.join(root, 'terraformrc'), CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', SSL_CERT_FILE: bundle };
    const init = await terraform(['init', '-no-color', '-input=false'], { cwd, env });
    t.is(init.code, 0, `${form}: ${init.output}`);
    const lock = lockHashes(cwd, 'registry.terraform.io/acme/widget');
    t.true(lock?.hashes.includes(upstream.packages.get('linux_amd64')!.h1!), `${form}: lock ${lock?.hashes.join(', ')}`);
    if (form === 'host') {
      // Through the registry protocol Terraform checks the signed SHA256SUMS itself and locks every platform.
      for (const p of upstream.packages.values()) t.true(lock!.hashes.includes(`zh:${p.sha256}`), `host: zh for ${p.os}_${p.arch}`);
    }
  }
  t.is(s.registry.requests(/\.zip$/), 1, 'the second form installed what the first pulled: one archive download upstream');

  t.is(await server.stop(), 0); // flushes the download counts
  const db = new Database(path.join(s.dir, 'data', 'tfmirror.db'), { readonly: true });
  t.teardown(() => db.close());
  const row = db
    .prepare(
      `SELECT pv.origin, pk.download_count AS count, pk.first_download_at AS first, pk.last_download_at AS last
         FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id WHERE pk.os = 'linux' AND pk.arch = 'amd64'`,
    )
    .get() as { origin: string; count: number; first: string | null; last: string | null };
  t.is(row.origin, 'pulled');
  t.is(row.count, 2, 'the pulling download and the later one from the store');
  t.truthy(row.first);
  t.true(row.first! <= row.last!);
});
