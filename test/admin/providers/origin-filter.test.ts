import test from 'ava';
import { providerRoutes } from '../../../server/src/admin/providers/routes.js';
import { createWorld, seedPackage, startAdmin, type World } from '../routes/helpers.js';

const viewer = { token: 'viewer-token' };
const set = { kind: 'set', set: { kind: 'ProviderSet', namespace: 'platform', name: 'baseline' } } as const;

/** One provider per origin, one held by two, and a second package of another origin inside one version. */
async function setup() {
  const world = await createWorld();
  await seedPackage(world, { source: 'acme/imported', version: '1.0.0', platform: 'linux_amd64', size: 10, holder: { kind: 'imported' } });
  await seedPackage(world, { source: 'acme/loaded', version: '1.0.0', platform: 'linux_amd64', size: 10, holder: { kind: 'loaded' } });
  await seedPackage(world, { source: 'acme/pulled', version: '1.0.0', platform: 'linux_amd64', size: 10, holder: { kind: 'pulled' } });
  await seedPackage(world, { source: 'acme/fromset', version: '1.0.0', platform: 'linux_amd64', size: 10, holder: set });
  // Loaded on one platform, pulled on another: it was brought by both.
  await seedPackage(world, { source: 'acme/mixed', version: '2.0.0', platform: 'linux_amd64', size: 10, holder: { kind: 'loaded' } });
  await seedPackage(world, { source: 'acme/mixed', version: '2.0.0', platform: 'darwin_arm64', size: 10, holder: { kind: 'pulled' } });
  const server = await startAdmin(providerRoutes(world));
  return { world, server };
}
const cleanup = (s: { world: World; server: { close(): Promise<void> } }) => s.server.close().finally(() => s.world.close());
const source = (type: string) => `registry.terraform.io/acme/${type}`;

const cases = [
  { origin: 'imported', types: ['imported'] },
  { origin: 'loaded', types: ['loaded', 'mixed'] },
  { origin: 'pulled', types: ['mixed', 'pulled'] },
  { origin: 'set', types: ['fromset'] },
];
for (const c of cases) {
  test(`origin=${c.origin} lists exactly the providers ${c.origin} content brought, with the total counting only those`, async (t) => {
    const s = await setup();
    t.teardown(() => cleanup(s));
    const res = await s.server.call('GET', `/providers?origin=${c.origin}`, viewer);
    t.is(res.status, 200, JSON.stringify(res.body));
    t.deepEqual(res.body.items.map((i: { source: string }) => i.source), c.types.map(source));
    t.is(res.body.total, c.types.length);
  });
}

test('the origin filter combines with the others and with paging', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const page = await s.server.call('GET', '/providers?origin=pulled&limit=1&offset=1', viewer);
  t.deepEqual(page.body.items.map((i: { source: string }) => i.source), [source('pulled')]);
  t.is(page.body.total, 2);
  const none = await s.server.call('GET', '/providers?origin=pulled&q=imported', viewer);
  t.deepEqual(none.body, { items: [], total: 0 });
  // The usage columns still count every package of a matched provider, not only the matching ones.
  const mixed = await s.server.call('GET', '/providers?origin=loaded&type=mixed', viewer);
  t.like(mixed.body.items[0], { source: source('mixed'), packages: 2, bytes: 20 });
});

test('the set origin follows the holder rows: a released set no longer counts', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  s.world.db.prepare(`DELETE FROM package_holders WHERE holder_kind = 'set'`).run();
  const res = await s.server.call('GET', '/providers?origin=set', viewer);
  t.deepEqual(res.body, { items: [], total: 0 });
});

test('an origin outside imported, loaded, pulled and set is refused with 400 naming the parameter', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  for (const bad of ['ProviderSet', 'mirror', '']) {
    const res = await s.server.call('GET', `/providers?origin=${bad}`, viewer);
    t.is(res.status, 400, `origin=${bad}`);
    t.regex(JSON.stringify(res.body), /origin/);
  }
});
