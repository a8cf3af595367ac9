/**
 * POST /admin/api/providers/load with module definitions, against a real
 * `tfmirror serve`: a fake registry over HTTPS whose module download points
 * at a tar.gz on a static HTTPS server, fetched by the real module fetcher.
 */
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import Database from 'better-sqlite3';
import anyTest, { type TestFn } from 'ava';
import { loadSetup, type LoadSetup } from '../../fixtures/load-setup.js';
import { tarGz } from '../../fixtures/module-archives.js';
import { startStaticServer, type StaticServer } from '../../fixtures/static-server.js';
import { runCli, startServe } from '../../fixtures/tfmirror.js';

const OPERATOR = 'module-load-operator-token-Hx83kLq2Vn7Rt5Wz';
const test = anyTest as TestFn<{ s: LoadSetup; archives: StaticServer; env: Record<string, string> }>;

test.before(async (t) => {
  const root = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'tfm-module-archives-'));
  fs.writeFileSync(
    path.join(root, 'net-1.2.0.tar.gz'),
    tarGz([
      { name: 'net/', type: 'directory' },
      { name: 'net/main.tf', content: 'variable "cidr" {}\n' },
      { name: 'net/modules/sub/main.tf', content: 'output "x" { value = 1 }\n' },
    ]),
  );
  const archives = await startStaticServer(root);
  const location = `${archives.url}net-1.2.0.tar.gz//net`;
  const s = await loadSetup([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.1': ['linux_amd64'] } }], {
    modules: [{ namespace: 'acme', name: 'net', system: 'aws', versions: { '1.1.0': location, '1.2.0': location } }],
  });
  // One trust file for both HTTPS peers, as NODE_EXTRA_CA_CERTS takes one.
  const caFile = path.join(s.dir, 'peers-ca.pem');
  fs.writeFileSync(caFile, `${s.registry.caPem}\n${archives.caPem}\n`);
  t.context = { s, archives, env: { ...s.env, NODE_EXTRA_CA_CERTS: caFile } };
});
test.after.always(async (t) => {
  await t.context.archives?.close();
  await t.context.s?.close();
});

function dbOf(s: LoadSetup) {
  return new Database(path.join(s.dir, 'data', 'tfmirror.db'), { readonly: true });
}

function moduleRows(s: LoadSetup) {
  const db = dbOf(s);
  try {
    return db
      .prepare(
        `SELECT m.namespace || '/' || m.name || '/' || m.system AS module, v.version, v.subdir, v.size, h.holder_kind AS holder
           FROM module_versions v JOIN modules m ON m.id = v.module_id LEFT JOIN module_holders h ON h.module_version_id = v.id ORDER BY v.version`,
      )
      .all() as { module: string; version: string; subdir: string | null; size: number; holder: string }[];
  } finally {
    db.close();
  }
}

test.serial('a module block POSTed to /providers/load becomes a job whose module item succeeds, and the version is held', async (t) => {
  const { s, env } = t.context;
  const server = await startServe({ ...env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_OPERATOR_TOKEN: OPERATOR });
  t.teardown(() => server.stop());
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;
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

  // Invalid first: a bad module block is 400 with line and column, and no job is created.
  const before = (await api('GET', '/jobs')).json.total as number;
  const invalid = await api('POST', '/providers/load', 'module "acme/net/aws" {\n  versions = ["1.2.0"]\n}\nmodule "acme/net" {\n  versions = ["~> 1.0"]\n}\n');
  t.is(invalid.status, 400);
  t.like(invalid.json.error, { line: 4, column: 8 });
  t.regex(invalid.json.error.message, /invalid module source address "acme\/net"/);
  t.is((await api('GET', '/jobs')).json.total, before, 'nothing stored');

  const accepted = await api('POST', '/providers/load', 'module "acme/net/aws" {\n  versions = ["~> 1.0"]\n  latest   = 1\n}\n');
  t.is(accepted.status, 202, JSON.stringify(accepted.json));
  t.like(accepted.json, { items: 1, problems: [] });
  let job = { status: 'pending', items: [] as unknown[] };
  for (let i = 0; i < 150 && !['succeeded', 'failed'].includes(job.status); i++) {
    await new Promise((r) => setTimeout(r, 200));
    job = (await api('GET', `/jobs/${accepted.json.jobId}`)).json;
  }
  t.is(job.status, 'succeeded', JSON.stringify(job));
  t.like(job.items[0], { kind: 'module', source: 'registry.terraform.io/acme/net/aws', version: '1.2.0', platform: '', status: 'succeeded' });
  const rows = moduleRows(s);
  t.is(rows.length, 1);
  t.like(rows[0], { module: 'acme/net/aws', version: '1.2.0', subdir: 'net', holder: 'loaded' });
  t.true(rows[0]!.size > 0);
  t.is(t.context.archives.requests('/net-1.2.0.tar.gz'), 1, 'fetched once');
});

test.serial('tfmirror load of a definitions file with a provider and a module loads both and names the module item', async (t) => {
  const { s, env } = t.context;
  const file = s.writeDefinitions(
    'mixed.hcl',
    'provider "hashicorp/null" {\n  versions  = ["3.2.1"]\n  platforms = ["linux_amd64"]\n}\n\nmodule "acme/net/aws" {\n  versions = ["1.1.0"]\n}\n',
  );
  const dry = await runCli(['load', '--dry-run', file], env);
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stdout, /plan {5}registry\.terraform\.io\/hashicorp\/null 3\.2\.1 linux_amd64\n/);
  t.regex(dry.stdout, /plan {5}module registry\.terraform\.io\/acme\/net\/aws 1\.1\.0\n/);
  t.regex(dry.stdout, /1 packages and 1 module versions planned, 0 problems/);
  const res = await runCli(['load', file], env);
  t.is(res.code, 0, res.stdout + res.stderr);
  // Finished items are progress lines, on stderr.
  t.regex(res.stderr, /loaded {3}module registry\.terraform\.io\/acme\/net\/aws 1\.1\.0/);
  t.regex(res.stdout, /2 loaded, 0 already held, 0 failed/);
  t.true(moduleRows(s).some((r) => r.version === '1.1.0' && r.holder === 'loaded'));
});
