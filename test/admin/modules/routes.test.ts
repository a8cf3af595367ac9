import test from 'ava';
import { moduleRoutes } from '../../../server/src/admin/modules/routes.js';
import { statsRoutes } from '../../../server/src/admin/stats/routes.js';
import { startAdmin, storedKeys } from '../routes/helpers.js';
import { address, createModuleWorld, seedModule, type ModuleWorld } from './helpers.js';

const admin = { token: 'admin-token' };
const viewer = { token: 'viewer-token' };
const operator = { token: 'operator-token' };
const vpc = address('terraform-aws-modules', 'vpc', 'aws');
const eks = address('terraform-aws-modules', 'eks', 'aws');
const net = address('acme', 'network', 'google', 'example.com');
const COMMIT = 'a'.repeat(40);

async function setup() {
  const world = await createModuleWorld();
  const vpc1 = await seedModule(world, { address: vpc, version: '5.1.0', size: 300, downloads: 4 });
  await seedModule(world, { address: vpc, version: '5.10.0', size: 400, holder: { kind: 'set', set: { kind: 'ModuleSet', namespace: 'platform', name: 'mods' } } });
  await seedModule(world, { address: vpc, version: '5.10.0', size: 400, holder: { kind: 'pulled' } });
  await seedModule(world, { address: eks, version: '20.8.5', size: 50, git: { url: 'https://github.com/terraform-aws-modules/terraform-aws-eks', ref: 'v20.8.5', commit: COMMIT } });
  await seedModule(world, { address: net, version: '1.0.0', size: 20 });
  const server = await startAdmin([...moduleRoutes(world), ...statsRoutes(world)]);
  return { world, server, vpcId: vpc1.moduleId, vpc1 };
}

function cleanup(s: { world: ModuleWorld; server: { close(): Promise<void> } }) {
  return s.server.close().finally(() => s.world.close());
}

test('the list shows every module with its versions, bytes and downloads, in address order, with totals', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.server.call('GET', '/modules', viewer);
  t.is(res.status, 200);
  t.like(res.body, { total: 3, limit: 50, offset: 0 });
  t.deepEqual(res.body.items.map((i: any) => i.source), [
    'example.com/acme/network/google',
    'registry.terraform.io/terraform-aws-modules/eks/aws',
    'registry.terraform.io/terraform-aws-modules/vpc/aws',
  ]);
  t.like(res.body.items[2], { id: s.vpcId, status: 'active', versions: 2, bytes: 700, downloads: 4, lastDownloadAt: '2026-01-02T03:04:05.000Z' });
  t.deepEqual(Object.keys(res.body.items[2]).sort(), ['bytes', 'createdAt', 'downloads', 'id', 'lastDownloadAt', 'source', 'status', 'versions']);
});

const filterCases = [
  { name: 'a substring of the address, in any letter case', query: '?query=AWS-modules/V', sources: ['registry.terraform.io/terraform-aws-modules/vpc/aws'] },
  { name: 'hostname, in any letter case', query: '?hostname=Example.com', sources: ['example.com/acme/network/google'] },
  { name: 'status', query: '?status=deprecated', sources: [] },
  { name: 'page size and offset', query: '?limit=1&offset=1', sources: ['registry.terraform.io/terraform-aws-modules/eks/aws'] },
];
for (const c of filterCases) {
  test(`the list filters and pages by ${c.name}`, async (t) => {
    const s = await setup();
    t.teardown(() => cleanup(s));
    const res = await s.server.call('GET', `/modules${c.query}`, viewer);
    t.is(res.status, 200);
    t.deepEqual(res.body.items.map((i: any) => i.source), c.sources);
    if (c.query.includes('limit=1')) t.like(res.body, { total: 3, limit: 1, offset: 1 });
  });
}

test('a bad list query is a 400 naming the parameter', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.server.call('GET', '/modules?status=gone', viewer);
  t.is(res.status, 400);
  t.regex(res.body.error.message, /status/);
});

test('the detail lists the versions newest first with location, source kind, commit, digest, size, downloads and holders', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.server.call('GET', `/modules/${s.vpcId}`, viewer);
  t.is(res.status, 200);
  t.like(res.body, { id: s.vpcId, source: 'registry.terraform.io/terraform-aws-modules/vpc/aws', status: 'active', namespace: 'terraform-aws-modules', name: 'vpc', system: 'aws' });
  t.deepEqual(res.body.versions.map((v: any) => v.version), ['5.10.0', '5.1.0']);
  t.deepEqual(res.body.versions[0].heldBy, ['pulled', 'set:ModuleSet/platform/mods']);
  t.like(res.body.versions[1], { sourceKind: 'archive', commit: null, size: 300, files: 3, downloads: 4, heldBy: ['loaded'], drift: null });
  t.regex(res.body.versions[1].sha256, /^[0-9a-f]{64}$/);
  t.regex(res.body.versions[1].location, /^https:\/\/codeload\.example\.com\//);
  t.false(JSON.stringify(res.body).includes('modules/registry.terraform.io'), 'archive keys stay inside');

  const eksId = s.world.modules.findModule(eks)!.id;
  const git = (await s.server.call('GET', `/modules/${eksId}`, viewer)).body.versions[0];
  t.like(git, { sourceKind: 'git', commit: COMMIT, location: 'git::https://github.com/terraform-aws-modules/terraform-aws-eks?ref=v20.8.5' });
});

test('an unknown module is a 404', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await s.server.call('GET', '/modules/999', viewer)).status, 404);
  t.is((await s.server.call('PATCH', '/modules/999', { ...admin, body: { status: 'blocked' } })).status, 404);
  t.is((await s.server.call('DELETE', '/modules/999', admin)).status, 404);
  t.is((await s.server.call('DELETE', `/modules/${s.vpcId}/versions/9.9.9`, admin)).status, 404);
});

for (const [status, action] of [['blocked', 'module.block'], ['deprecated', 'module.deprecate'], ['active', 'module.activate']] as const) {
  test(`PATCH status ${status} is stored, drops the cache and is audited as ${action}`, async (t) => {
    const s = await setup();
    t.teardown(() => cleanup(s));
    if (status === 'active') s.world.modules.setStatus(s.vpcId, 'blocked');
    const before = s.world.invalidations;
    const res = await s.server.call('PATCH', `/modules/${s.vpcId}`, { ...admin, body: { status } });
    t.is(res.status, 200);
    t.is(res.body.status, status);
    t.is(s.world.modules.getModule(s.vpcId).status, status);
    t.true(s.world.invalidations > before);
    t.like(s.server.audit.at(-1), {
      action,
      outcome: 'success',
      actor: 'token:admin',
      resource: `module:${s.vpcId}`,
      details: { source: 'registry.terraform.io/terraform-aws-modules/vpc/aws', from: status === 'active' ? 'blocked' : 'active', to: status },
    });
  });
}

test('PATCH refuses an unknown status and unknown fields', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await s.server.call('PATCH', `/modules/${s.vpcId}`, { ...admin, body: { status: 'hidden' } })).status, 400);
  t.is((await s.server.call('PATCH', `/modules/${s.vpcId}`, { ...admin, body: { status: 'blocked', name: 'x' } })).status, 400);
  t.is(s.world.modules.getModule(s.vpcId).status, 'active');
});

const mutations = (s: Awaited<ReturnType<typeof setup>>) =>
  [
    ['PATCH', `/modules/${s.vpcId}`, { status: 'blocked' }],
    ['DELETE', `/modules/${s.vpcId}`, undefined],
    ['DELETE', `/modules/${s.vpcId}/versions/5.1.0`, undefined],
    ['POST', `/modules/${s.vpcId}/drift`, undefined],
  ] as const;

for (const [role, who] of [['viewer', viewer], ['operator', operator]] as const) {
  test(`a ${role} may not change modules (403) and nothing changes`, async (t) => {
    const s = await setup();
    t.teardown(() => cleanup(s));
    for (const [method, path, body] of mutations(s)) {
      const res = await s.server.call(method, path, { ...who, ...(body ? { body } : {}) });
      t.is(res.status, 403, `${method} ${path}`);
    }
    t.is(s.world.modules.getModule(s.vpcId).status, 'active');
    t.is(s.world.modules.listVersions(s.vpcId).length, 2);
    t.true(s.server.audit.every((e) => e.outcome === 'failure'));
  });
}

test('a viewer reads the list and the detail; without a token every module route is 401', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await s.server.call('GET', '/modules', viewer)).status, 200);
  t.is((await s.server.call('GET', `/modules/${s.vpcId}`, admin)).status, 200);
  t.is((await s.server.call('GET', '/modules')).status, 401);
  for (const [method, path] of mutations(s)) t.is((await s.server.call(method, path)).status, 401, `${method} ${path}`);
});

test('DELETE of a module removes its rows, then its archives from the store, and is audited', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await storedKeys(s.world, 'modules/registry.terraform.io/terraform-aws-modules/vpc/')).length, 2);
  const res = await s.server.call('DELETE', `/modules/${s.vpcId}`, admin);
  t.is(res.status, 204);
  t.is(s.world.modules.findModule(vpc), undefined);
  t.deepEqual(await storedKeys(s.world, 'modules/registry.terraform.io/terraform-aws-modules/vpc/'), []);
  t.is((await storedKeys(s.world, 'modules/')).length, 2, 'other modules keep their archives');
  t.like(s.server.audit.at(-1), { action: 'module.delete', outcome: 'success', details: { source: 'registry.terraform.io/terraform-aws-modules/vpc/aws', objectsDeleted: 2, objectsFailed: 0 } });
  t.is((await s.server.call('GET', `/modules/${s.vpcId}`, viewer)).status, 404);
});

test('DELETE of one version removes its row and archive; the other versions stay', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.server.call('DELETE', `/modules/${s.vpcId}/versions/5.1.0`, admin);
  t.is(res.status, 204);
  t.deepEqual(s.world.modules.listVersions(s.vpcId).map((v) => v.version), ['5.10.0']);
  t.false((await storedKeys(s.world)).includes(s.vpc1.archiveKey));
  t.is((await storedKeys(s.world, 'modules/registry.terraform.io/terraform-aws-modules/vpc/')).length, 1);
  t.like(s.server.audit.at(-1), { action: 'module.version.delete', outcome: 'success', details: { version: '5.1.0', objectsDeleted: 1 } });
  const again = await s.server.call('DELETE', `/modules/${s.vpcId}/versions/5.1.0`, admin);
  t.is(again.status, 404);
  t.like(s.server.audit.at(-1), { action: 'module.version.delete', outcome: 'failure' });
});

test('a drift check on a server without a module fetcher is a 503, audited as a failure', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.server.call('POST', `/modules/${s.vpcId}/drift`, admin);
  t.is(res.status, 503);
  t.like(s.server.audit.at(-1), { action: 'module.drift-check', outcome: 'failure' });
});

test('the storage report counts modules, their versions and archive bytes', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.server.call('GET', '/stats/storage', viewer);
  t.is(res.status, 200);
  t.deepEqual(res.body.modules, { modules: 3, versions: 4, bytes: 300 + 400 + 50 + 20 });
});
