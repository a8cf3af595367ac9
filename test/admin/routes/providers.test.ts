import { Readable } from 'node:stream';
import test from 'ava';
import { providerRoutes } from '../../../server/src/admin/providers/routes.js';
import { NotFound } from '../../../server/src/errors.js';
import { MirrorService } from '../../../server/src/mirror/service.js';
import { createWorld, seedPackage, startAdmin, storedKeys, type World } from './helpers.js';

const admin = { token: 'admin-token' };
const viewer = { token: 'viewer-token' };

async function setup() {
  const world = await createWorld();
  await seedPackage(world, { source: 'hashicorp/aws', version: '5.0.0', platform: 'linux_amd64', size: 300, downloads: 7 });
  await seedPackage(world, { source: 'hashicorp/aws', version: '5.10.0', platform: 'linux_amd64', size: 400 });
  await seedPackage(world, { source: 'hashicorp/aws', version: '5.10.0', platform: 'darwin_arm64', size: 350, downloads: 2 });
  await seedPackage(world, { source: 'hashicorp/null', version: '3.2.1', platform: 'linux_amd64', size: 20 });
  await seedPackage(world, { source: 'example.com/acme/widget', version: '1.0.0', platform: 'linux_arm64', size: 50 });
  const server = await startAdmin(providerRoutes(world));
  const idOf = (type: string) => world.db.prepare<[string], { id: number }>('SELECT id FROM providers WHERE type = ?').get(type)!.id;
  return { world, server, idOf };
}

function cleanup(s: { world: World; server: { close(): Promise<void> } }) {
  return s.server.close().finally(() => s.world.close());
}

test('the list shows every provider with counts, bytes and downloads, in address order', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.server.call('GET', '/providers', viewer);
  t.is(res.status, 200);
  t.is(res.body.total, 3);
  t.deepEqual(
    res.body.items.map((i: any) => i.source),
    ['example.com/acme/widget', 'registry.terraform.io/hashicorp/aws', 'registry.terraform.io/hashicorp/null'],
  );
  const aws = res.body.items[1];
  t.like(aws, { id: s.idOf('aws'), status: 'active', versions: 2, packages: 3, bytes: 1050, downloads: 9 });
  t.regex(aws.updatedAt, /^\d{4}-\d\d-\d\dT/);
  t.deepEqual(Object.keys(aws).sort(), ['bytes', 'downloads', 'id', 'packages', 'source', 'status', 'updatedAt', 'versions']);
});

const filterCases = [
  { name: 'hostname', query: '?hostname=example.com', sources: ['example.com/acme/widget'] },
  { name: 'namespace, in any letter case', query: '?namespace=HashiCorp', sources: ['registry.terraform.io/hashicorp/aws', 'registry.terraform.io/hashicorp/null'] },
  { name: 'type', query: '?type=null', sources: ['registry.terraform.io/hashicorp/null'] },
  { name: 'substring of the address', query: '?q=corp/nu', sources: ['registry.terraform.io/hashicorp/null'] },
  { name: 'status', query: '?status=active&hostname=registry.terraform.io', sources: ['registry.terraform.io/hashicorp/aws', 'registry.terraform.io/hashicorp/null'] },
  { name: 'no match', query: '?q=nothing-like-this', sources: [] },
];
for (const c of filterCases) {
  test(`the list filters by ${c.name}`, async (t) => {
    const s = await setup();
    t.teardown(() => cleanup(s));
    const res = await s.server.call('GET', `/providers${c.query}`, viewer);
    t.is(res.status, 200);
    t.deepEqual(res.body.items.map((i: any) => i.source), c.sources);
    t.is(res.body.total, c.sources.length);
  });
}

test('the list pages with limit and offset while total counts every match', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const page = await s.server.call('GET', '/providers?limit=1&offset=1', viewer);
  t.is(page.status, 200);
  t.deepEqual(page.body.items.map((i: any) => i.source), ['registry.terraform.io/hashicorp/aws']);
  t.is(page.body.total, 3);
  for (const bad of ['?limit=0', '?limit=501', '?offset=-1', '?limit=abc', '?status=gone']) {
    const res = await s.server.call('GET', `/providers${bad}`, viewer);
    t.is(res.status, 400, bad);
    t.truthy(res.body.error.message);
  }
});

test('the detail lists versions newest first with their packages and hashes', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.server.call('GET', `/providers/${s.idOf('aws')}`, viewer);
  t.is(res.status, 200);
  t.is(res.body.source, 'registry.terraform.io/hashicorp/aws');
  t.deepEqual(res.body.versions.map((v: any) => v.version), ['5.10.0', '5.0.0']);
  const [newest, oldest] = res.body.versions;
  t.like(newest, { origin: 'loaded', protocols: ['5.0'], keyIds: ['34365D9472D7468F'] });
  t.deepEqual(newest.packages.map((p: any) => p.platform), ['darwin_arm64', 'linux_amd64']);
  const pkg = oldest.packages[0];
  t.like(pkg, { platform: 'linux_amd64', filename: 'terraform-provider-aws_5.0.0_linux_amd64.zip', size: 300, downloads: 7, lastDownloadAt: '2025-01-02T03:04:05.000Z' });
  t.is(pkg.zh, `zh:${pkg.sha256}`);
  t.regex(pkg.h1, /^h1:/);
  t.false('objectKey' in pkg, 'object keys stay inside the server');
  t.deepEqual(pkg.heldBy, ['loaded']);
  t.deepEqual(oldest.heldBy, ['loaded']);
});

test('the detail names who holds each package and version', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const set = { kind: 'set', set: { kind: 'ProviderMirror', namespace: 'team-a', name: 'aws' } } as const;
  s.world.providers.addHolder({ hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'aws' }, '5.10.0', 'darwin', 'arm64', set);
  const res = await s.server.call('GET', `/providers/${s.idOf('aws')}`, viewer);
  const [newest] = res.body.versions;
  t.deepEqual(newest.heldBy, ['loaded', 'set:ProviderMirror/team-a/aws']);
  t.deepEqual(newest.packages.map((p: any) => [p.platform, p.heldBy]), [
    ['darwin_arm64', ['loaded', 'set:ProviderMirror/team-a/aws']],
    ['linux_amd64', ['loaded']],
  ]);
});

test('an unknown provider id is 404 and a malformed one 400', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await s.server.call('GET', '/providers/9999', viewer)).status, 404);
  t.is((await s.server.call('PATCH', '/providers/9999', { ...admin, body: { status: 'blocked' } })).status, 404);
  t.is((await s.server.call('DELETE', '/providers/9999', admin)).status, 404);
  t.is((await s.server.call('GET', '/providers/abc', viewer)).status, 400);
});

for (const status of ['blocked', 'deprecated', 'active'] as const) {
  test(`PATCH sets a provider ${status}, invalidates the mirror cache and is audited`, async (t) => {
    const s = await setup();
    t.teardown(() => cleanup(s));
    const id = s.idOf('null');
    const res = await s.server.call('PATCH', `/providers/${id}`, { ...admin, body: { status } });
    t.is(res.status, 200);
    t.like(res.body, { id, source: 'registry.terraform.io/hashicorp/null', status, packages: 1 });
    t.is(s.world.providers.getProviderById(id).status, status);
    t.is(s.world.invalidations, 1);
    t.like(s.server.audit.at(-1), {
      action: 'provider.update',
      outcome: 'success',
      actor: 'token:admin',
      resource: `provider:${id}`,
      details: { source: 'registry.terraform.io/hashicorp/null', from: 'active', to: status },
    });
  });
}

test('PATCH with an unknown status is 400, changes nothing and is audited as a failure', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const id = s.idOf('null');
  for (const body of [{ status: 'gone' }, {}, { status: 'blocked', extra: 1 }]) {
    const res = await s.server.call('PATCH', `/providers/${id}`, { ...admin, body });
    t.is(res.status, 400, JSON.stringify(body));
    t.like(s.server.audit.at(-1), { action: 'provider.update', outcome: 'failure' });
  }
  t.is(s.world.providers.getProviderById(id).status, 'active');
  t.is(s.world.invalidations, 0);
});

test('DELETE removes the rows, then every stored object of the provider', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const id = s.idOf('aws');
  const prefix = 'providers/registry.terraform.io/hashicorp/aws/';
  t.is((await storedKeys(s.world, prefix)).length, 3 + 3 * 2, 'three zips, and SHA256SUMS, .sig and signing keys of both versions');
  const res = await s.server.call('DELETE', `/providers/${id}`, admin);
  t.is(res.status, 204);
  t.is(res.body, undefined);
  t.deepEqual(await storedKeys(s.world, prefix), []);
  t.is((await storedKeys(s.world)).length, 8, 'the other providers keep their objects');
  const rows = (table: string) => s.world.db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).get()!.n;
  t.is(rows('providers'), 2);
  t.is(rows('provider_versions'), 2);
  t.is(rows('provider_packages'), 2);
  t.is((await s.server.call('GET', `/providers/${id}`, viewer)).status, 404);
  t.true(s.world.invalidations >= 1);
  t.like(s.server.audit.at(-1), {
    action: 'provider.delete',
    outcome: 'success',
    resource: `provider:${id}`,
    details: { source: 'registry.terraform.io/hashicorp/aws', objectsDeleted: 9, objectsFailed: 0 },
  });
});

test('a failed DELETE of an unknown provider is audited as a failure', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await s.server.call('DELETE', '/providers/4242', admin)).status, 404);
  t.like(s.server.audit.at(-1), { action: 'provider.delete', outcome: 'failure', actor: 'token:admin' });
  t.regex(String(s.server.audit.at(-1)?.details?.error), /4242/);
});

test('a viewer may read but not PATCH or DELETE; the refusal is audited', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const id = s.idOf('aws');
  const patch = await s.server.call('PATCH', `/providers/${id}`, { ...viewer, body: { status: 'blocked' } });
  t.is(patch.status, 403);
  const del = await s.server.call('DELETE', `/providers/${id}`, viewer);
  t.is(del.status, 403);
  t.is(s.world.providers.getProviderById(id).status, 'active');
  t.is((await storedKeys(s.world, 'providers/registry.terraform.io/hashicorp/aws/')).length, 9);
  t.deepEqual(
    s.server.audit.map((e) => [e.action, e.outcome, e.actor]),
    [
      ['provider.update', 'failure', 'token:viewer'],
      ['provider.delete', 'failure', 'token:viewer'],
    ],
  );
  t.is((await s.server.call('GET', '/providers', { token: 'operator-token' })).status, 403, 'the operator role manages jobs, not the catalogue');
  t.is((await s.server.call('GET', '/providers')).status, 401);
});

test('a blocked provider leaves the mirror at once and a deprecated one is served as deprecated', async (t) => {
  const world = await createWorld();
  await seedPackage(world, { source: 'hashicorp/null', version: '3.2.1', platform: 'linux_amd64', size: 20 });
  const mirror = new MirrorService(world.db, world.providers);
  const server = await startAdmin(providerRoutes({ ...world, invalidate: () => mirror.invalidate() }));
  t.teardown(() => server.close().finally(() => world.close()));
  const address = { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' };
  const id = world.providers.getProvider(address).id;
  t.is((await mirror.index(address)).status, 'active', 'the document is now cached');

  await server.call('PATCH', `/providers/${id}`, { ...admin, body: { status: 'deprecated' } });
  t.is((await mirror.index(address)).status, 'deprecated');

  await server.call('PATCH', `/providers/${id}`, { ...admin, body: { status: 'blocked' } });
  await t.throwsAsync(mirror.index(address), { instanceOf: NotFound });
  t.is((await server.call('GET', `/providers/${id}`, viewer)).body.status, 'blocked', 'admins still see it');
});

test('DELETE keeps an object another provider still names, checked in the deleting transaction', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  // A hand-made mirror may record two providers' packages under one object.
  const nullKey = s.world.db.prepare<[], { key: string }>(`SELECT object_key AS key FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id
    JOIN providers p ON p.id = pv.provider_id WHERE p.type = 'null'`).get()!.key;
  s.world.db.prepare(`UPDATE provider_packages SET object_key = ? WHERE filename LIKE 'terraform-provider-widget%'`).run(nullKey);
  t.is((await s.server.call('DELETE', `/providers/${s.idOf('null')}`, admin)).status, 204);
  t.true((await storedKeys(s.world)).includes(nullKey));
});

test('DELETE leaves an object a concurrent load stored under the provider before recording its row', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const pending = 'providers/registry.terraform.io/hashicorp/null/3.3.0/0123456789abcdef/terraform-provider-null_3.3.0_linux_amd64.zip';
  await s.world.store.put(pending, Readable.from([Buffer.from('zip')]), { size: 3 });
  t.is((await s.server.call('DELETE', `/providers/${s.idOf('null')}`, admin)).status, 204);
  t.deepEqual(await storedKeys(s.world, 'providers/registry.terraform.io/hashicorp/null/'), [pending]);
});

test('DELETE keeps the files of a version a load is about to write', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  s.world.jobs.createJob(
    { kind: 'load', requestedBy: 'admin', spec: {}, items: [{ source: 'registry.terraform.io/hashicorp/aws', version: '5.10.0', platform: 'windows_amd64' }], maxAttempts: 1 },
    Date.now(),
  );
  t.is((await s.server.call('DELETE', `/providers/${s.idOf('aws')}`, admin)).status, 204);
  const left = await storedKeys(s.world, 'providers/registry.terraform.io/hashicorp/aws/');
  t.true(left.length > 0 && left.every((k) => k.includes('/5.10.0/')), left.join(' '));
  t.true(left.some((k) => k.endsWith('_SHA256SUMS')));
});
