import test from 'ava';
import { providerRoutes } from '../../../server/src/admin/providers/routes.js';
import { DownloadCounter } from '../../../server/src/mirror/downloads.js';
import { createWorld, startAdmin } from '../routes/helpers.js';

const provider = { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' };

test('a pulled package shows its origin, holders, download count and first and last download in the provider detail', async (t) => {
  const world = await createWorld();
  const server = await startAdmin(providerRoutes(world));
  t.teardown(() => server.close().finally(() => world.close()));
  for (const [os, arch] of [['linux', 'amd64'], ['darwin', 'arm64']] as const) {
    world.providers.recordPackage({
      provider,
      version: '3.2.1',
      origin: 'pulled',
      os,
      arch,
      filename: `terraform-provider-null_3.2.1_${os}_${arch}.zip`,
      size: 10,
      sha256: (os === 'linux' ? 'ab' : 'cd').repeat(32),
      h1: 'h1:x',
      objectKey: `k/${os}`,
    });
  }
  const linux = world.providers.findPackage(provider, '3.2.1', 'linux', 'amd64')!.id;
  let now = new Date('2026-02-01T09:00:00.000Z');
  const counter = new DownloadCounter(world.providers, 60_000, () => now);
  counter.record(linux);
  now = new Date('2026-02-03T17:30:00.000Z');
  counter.record(linux);
  counter.record(linux);
  counter.flush();

  const id = world.providers.findProvider(provider)!.id;
  const res = await server.call('GET', `/providers/${id}`, { token: 'viewer-token' });
  t.is(res.status, 200);
  const [version] = res.body.versions;
  t.is(version.origin, 'pulled');
  const byPlatform = Object.fromEntries(version.packages.map((p: { platform: string }) => [p.platform, p]));
  t.like(byPlatform.linux_amd64, {
    origin: 'pulled',
    heldBy: ['pulled'],
    downloadCount: 3,
    firstDownloadAt: '2026-02-01T09:00:00.000Z',
    lastDownloadAt: '2026-02-03T17:30:00.000Z',
  });
  t.like(byPlatform.darwin_arm64, { origin: 'pulled', heldBy: ['pulled'], downloadCount: 0, firstDownloadAt: null, lastDownloadAt: null });
});
