/**
 * ModuleSet records through a real `tfmirror serve` (the operator's API):
 * planned against a fake HTTPS registry, loaded by the real module fetcher
 * from a static HTTPS server, held with the set as holder, purged on delete
 * only where nothing else holds the version.
 */
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import Database from 'better-sqlite3';
import { moduleRecords, startAdminServe, startModulePeers, stored, type AdminClient, type ModulePeers } from '../jobs/module-peers.js';

const test = anyTest as TestFn<{ peers: ModulePeers; api: AdminClient }>;

test.before(async (t) => {
  const peers = await startModulePeers(['1.0.0', '1.1.0', '1.2.0']);
  t.context = { peers, api: await startAdminServe(peers) };
});
test.after.always(async (t) => {
  await t.context.api?.server.stop();
  await t.context.peers?.close();
});

const SET = 'ModuleSet/team-a/net';

function auditEntry(peers: ModulePeers, action: string): { resource: string; details: string } {
  const db = new Database(path.join(peers.s.dir, 'data', 'tfmirror.db'), { readonly: true });
  try {
    return db.prepare(`SELECT resource, details FROM audit_log WHERE action = ? ORDER BY id DESC LIMIT 1`).get(action) as { resource: string; details: string };
  } finally {
    db.close();
  }
}

async function waitReady(api: AdminClient, path: string) {
  let status: any;
  for (let i = 0; i < 150; i++) {
    status = (await api.call('GET', `/provider-sets/${path}`)).json;
    if (status.jobStatus !== 'pending' && status.jobStatus !== 'running') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return status;
}

test.serial('a ModuleSet record is planned, loaded and held with the set as holder; its status counts the module versions', async (t) => {
  const { api, peers } = t.context;
  const put = await api.call('PUT', `/provider-sets/${SET}`, {
    kind: 'ModuleSet',
    uid: 'uid-net',
    generation: 1,
    spec: { modules: [{ source: 'acme/net/aws', versions: ['~> 1.1'], latest: 2 }], deletionPolicy: 'Delete' },
  });
  t.is(put.status, 200, JSON.stringify(put.json));
  t.like(put.json, { desired: 2, problems: [] });
  t.deepEqual(put.json.resolvedVersions, ['registry.terraform.io/acme/net/aws 1.1.0', 'registry.terraform.io/acme/net/aws 1.2.0']);
  const status = await waitReady(api, SET);
  t.like(status, { desired: 2, ready: 2, failed: 0, pending: 0, jobStatus: 'succeeded' });
  const rows = moduleRecords(peers.s);
  t.deepEqual(rows.map((r) => [r.version, r.holders]), [
    ['1.1.0', ['set:ModuleSet/team-a/net']],
    ['1.2.0', ['set:ModuleSet/team-a/net']],
  ]);
  const list = await api.call('GET', '/provider-sets');
  t.true(list.json.items.some((i: any) => i.kind === 'ModuleSet' && i.namespace === 'team-a' && i.name === 'net'));
  // The same generation again is not planned again.
  const again = await api.call('PUT', `/provider-sets/${SET}`, { kind: 'ModuleSet', uid: 'uid-net', generation: 1, spec: { modules: [{ source: 'acme/net/aws', versions: ['~> 1.1'], latest: 2 }] } });
  t.is(again.json.jobId, status.jobId);
});

test.serial('an invalid ModuleSet spec is 400 with the position in its document, and nothing is stored', async (t) => {
  const { api } = t.context;
  const res = await api.call('PUT', '/provider-sets/ModuleSet/team-a/bad', {
    kind: 'ModuleSet',
    uid: 'uid-bad',
    generation: 1,
    spec: { hcl: 'module "acme/net/aws" {\n  versions = ["~> nope"]\n}\n' },
  });
  t.is(res.status, 400);
  t.like(res.json.error, { line: 2 });
  t.regex(res.json.error.message, /versions\[0\]: invalid version constraint "~> nope"/);
  t.is((await api.call('GET', '/provider-sets/ModuleSet/team-a/bad')).status, 404);
});

test.serial('a ProviderSet whose HCL has a module block holds that module version too', async (t) => {
  const { api, peers } = t.context;
  const put = await api.call('PUT', '/provider-sets/ProviderSet/team-b/mixed', {
    kind: 'ProviderSet',
    uid: 'uid-mixed',
    generation: 1,
    spec: { hcl: 'provider "hashicorp/null" {\n  versions  = ["3.2.1"]\n  platforms = ["linux_amd64"]\n}\nmodule "acme/net/aws" {\n  versions = ["1.1.0"]\n}\n' },
  });
  t.is(put.status, 200, JSON.stringify(put.json));
  const status = await waitReady(api, 'ProviderSet/team-b/mixed');
  t.like(status, { desired: 2, ready: 2, failed: 0 });
  t.deepEqual(moduleRecords(peers.s).find((r) => r.version === '1.1.0')!.holders, ['set:ModuleSet/team-a/net', 'set:ProviderSet/team-b/mixed']);
});

test.serial('deleting a ModuleSet with purge removes the versions only it held, rows first and then archives; shared ones stay', async (t) => {
  const { api, peers } = t.context;
  const before = moduleRecords(peers.s);
  const only = before.find((r) => r.version === '1.2.0')!;
  const shared = before.find((r) => r.version === '1.1.0')!;
  t.true(stored(peers.s, only.archiveKey));
  const del = await api.call('DELETE', `/provider-sets/${SET}?purge=true`);
  t.is(del.status, 204);
  const after = moduleRecords(peers.s);
  t.deepEqual(after.map((r) => [r.version, r.holders]), [['1.1.0', ['set:ProviderSet/team-b/mixed']]]);
  t.false(stored(peers.s, only.archiveKey), 'the archive only the set held is gone');
  t.true(stored(peers.s, shared.archiveKey), 'the archive another set holds stays');
  t.is((await api.call('GET', `/provider-sets/${SET}`)).status, 404);
  // The audit entry says what went (the operator's role may not read the audit log: read the database).
  const entry = auditEntry(peers, 'provider-set.delete');
  t.is(entry.resource, 'provider-set:ModuleSet/team-a/net');
  t.like(JSON.parse(entry.details), { purge: true, known: true, moduleVersionsDeleted: 1, objectsDeleted: 1 });
});
