import test from 'ava';
import { statsRoutes } from '../../../server/src/admin/stats/routes.js';
import { createWorld, seedPackage, startAdmin } from './helpers.js';

async function setup() {
  const world = await createWorld();
  const server = await startAdmin(statsRoutes(world));
  const s = { world, server };
  return s;
}
type Setup = Awaited<ReturnType<typeof setup>>;
const cleanup = (s: Setup) => s.server.close().finally(() => s.world.close());
const viewer = { token: 'viewer-token' };

test('an empty mirror reports zeros and empty rankings', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.server.call('GET', '/stats/storage', viewer);
  t.is(res.status, 200);
  t.deepEqual(res.body, {
    modules: { modules: 0, versions: 0, bytes: 0 },
    totals: { providers: 0, versions: 0, packages: 0, bytes: 0, downloads: 0 },
    byHostname: [],
    byNamespace: [],
    byProvider: [],
    largestPackages: [],
    mostDownloaded: [],
  });
});

test('the storage report adds up totals, groups and rankings', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedPackage(s.world, { source: 'hashicorp/aws', version: '5.0.0', platform: 'linux_amd64', size: 300, downloads: 7 });
  await seedPackage(s.world, { source: 'hashicorp/aws', version: '5.10.0', platform: 'linux_amd64', size: 400 });
  await seedPackage(s.world, { source: 'hashicorp/aws', version: '5.10.0', platform: 'darwin_arm64', size: 350, downloads: 2 });
  await seedPackage(s.world, { source: 'hashicorp/null', version: '3.2.1', platform: 'linux_amd64', size: 20 });
  await seedPackage(s.world, { source: 'example.com/acme/widget', version: '1.0.0', platform: 'linux_arm64', size: 50 });
  const res = await s.server.call('GET', '/stats/storage', { token: 'admin-token' });
  t.is(res.status, 200);
  const r = res.body;
  t.deepEqual(r.totals, { providers: 3, versions: 4, packages: 5, bytes: 1120, downloads: 9 });
  t.deepEqual(r.byHostname, [
    { hostname: 'registry.terraform.io', providers: 2, versions: 3, packages: 4, bytes: 1070, downloads: 9 },
    { hostname: 'example.com', providers: 1, versions: 1, packages: 1, bytes: 50, downloads: 0 },
  ]);
  t.deepEqual(r.byNamespace, [
    { hostname: 'registry.terraform.io', namespace: 'hashicorp', providers: 2, versions: 3, packages: 4, bytes: 1070, downloads: 9 },
    { hostname: 'example.com', namespace: 'acme', providers: 1, versions: 1, packages: 1, bytes: 50, downloads: 0 },
  ]);
  t.deepEqual(
    r.byProvider.map((p: any) => [p.source, p.versions, p.packages, p.bytes, p.downloads]),
    [
      ['registry.terraform.io/hashicorp/aws', 2, 3, 1050, 9],
      ['example.com/acme/widget', 1, 1, 50, 0],
      ['registry.terraform.io/hashicorp/null', 1, 1, 20, 0],
    ],
  );
  t.deepEqual(
    r.largestPackages.map((p: any) => [p.filename, p.size]),
    [
      ['terraform-provider-aws_5.10.0_linux_amd64.zip', 400],
      ['terraform-provider-aws_5.10.0_darwin_arm64.zip', 350],
      ['terraform-provider-aws_5.0.0_linux_amd64.zip', 300],
      ['terraform-provider-widget_1.0.0_linux_arm64.zip', 50],
      ['terraform-provider-null_3.2.1_linux_amd64.zip', 20],
    ],
  );
  t.deepEqual(r.mostDownloaded, [
    {
      providerId: r.byProvider[0].id,
      source: 'registry.terraform.io/hashicorp/aws',
      version: '5.0.0',
      platform: 'linux_amd64',
      filename: 'terraform-provider-aws_5.0.0_linux_amd64.zip',
      size: 300,
      downloads: 7,
      lastDownloadAt: '2025-01-02T03:04:05.000Z',
    },
    {
      providerId: r.byProvider[0].id,
      source: 'registry.terraform.io/hashicorp/aws',
      version: '5.10.0',
      platform: 'darwin_arm64',
      filename: 'terraform-provider-aws_5.10.0_darwin_arm64.zip',
      size: 350,
      downloads: 2,
      lastDownloadAt: '2025-01-02T03:04:05.000Z',
    },
  ]);
});

test('rankings stop at 50 providers and 20 packages', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  for (let n = 1; n <= 55; n++) {
    s.world.providers.recordPackage({
      provider: { hostname: 'registry.terraform.io', namespace: 'many', type: `p${n}` },
      version: '1.0.0',
      origin: 'imported',
      os: 'linux',
      arch: 'amd64',
      filename: `terraform-provider-p${n}_1.0.0_linux_amd64.zip`,
      size: n,
      sha256: n.toString(16).padStart(64, '0'),
      h1: 'h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      objectKey: `providers/registry.terraform.io/many/p${n}/1.0.0/p.zip`,
    });
  }
  const r = (await s.server.call('GET', '/stats/storage', viewer)).body;
  t.is(r.totals.providers, 55);
  t.is(r.byProvider.length, 50);
  t.is(r.byProvider[0].bytes, 55, 'largest first');
  t.is(r.largestPackages.length, 20);
  t.deepEqual(r.mostDownloaded, [], 'packages never downloaded are not ranked');
});

test('the storage report is for readers only', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await s.server.call('GET', '/stats/storage', { token: 'operator-token' })).status, 403);
  t.is((await s.server.call('GET', '/stats/storage')).status, 401);
});
