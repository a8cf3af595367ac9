import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import test from 'ava';
import { loadSetup } from '../fixtures/load-setup.js';
import { findTerraform, lockHashes, terraform, terraformWorkspace } from '../fixtures/terraform.js';
import { startServe } from '../fixtures/tfmirror.js';

const tf = findTerraform();
if (!tf) console.log('# skipping end-to-end tests with terraform: the terraform CLI is not on PATH');
const e2e = tf ? test : test.skip;

const OPERATOR = 'ci-pipeline-operator-token-Qz7xW2kP9mLr4Tb8N';

e2e('providers loaded through the admin API install with terraform', async (t) => {
  const s = await loadSetup([{ namespace: 'hashicorp', type: 'random', versions: { '3.5.0': ['linux_amd64'], '3.6.0': ['linux_amd64'] } }]);
  t.teardown(() => s.close());
  const server = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_OPERATOR_TOKEN: OPERATOR });
  t.teardown(() => server.stop());
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;
  // Node trusts the server's local CA for these API calls the way terraform does through SSL_CERT_FILE.
  const agent = new https.Agent({ ca: fs.readFileSync(bundle) });
  const api = (method: string, p: string, body?: string) =>
    new Promise<{ status: number; json: any }>((resolve, reject) => {
      const headers: Record<string, string> = { authorization: `Bearer ${OPERATOR}` };
      if (body) headers['content-type'] = 'application/hcl';
      const req = https.request(new URL(`admin/api${p}`, server.url), { method, agent, headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
      });
      req.on('error', reject);
      req.end(body);
    });

  const accepted = await api('POST', '/providers/load', `provider "hashicorp/random" {\n  versions  = ["~> 3.5"]\n  latest    = 1\n  platforms = ["linux_amd64"]\n}\n`);
  t.is(accepted.status, 202, JSON.stringify(accepted.json) + server.stdout().split("\n").filter((l) => l.includes("request failed")).join("\n"));
  const jobId = accepted.json.jobId as number;
  let job = { status: 'pending', items: [] as unknown[] };
  for (let i = 0; i < 100 && !['succeeded', 'failed'].includes(job.status); i++) {
    await new Promise((r) => setTimeout(r, 200));
    job = (await api('GET', `/jobs/${jobId}`)).json;
  }
  t.is(job.status, 'succeeded', JSON.stringify(job));
  t.like(job.items[0], { source: 'registry.terraform.io/hashicorp/random', version: '3.6.0', platform: 'linux_amd64', status: 'succeeded' });

  const ws = terraformWorkspace(s.dir, server.url, `terraform {\n  required_providers {\n    random = { source = "hashicorp/random" }\n  }\n}\n`);
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
  t.is(init.code, 0, init.output);
  t.true(fs.existsSync(path.join(ws.cwd, '.terraform/providers/registry.terraform.io/hashicorp/random/3.6.0/linux_amd64')));
  const lock = lockHashes(ws.cwd, 'registry.terraform.io/hashicorp/random')!;
  t.true(lock.hashes.includes(s.registry.release('hashicorp', 'random', '3.6.0').packages.get('linux_amd64')!.h1!));
});
