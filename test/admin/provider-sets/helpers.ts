/** A Koa app around the provider-set routes, over an in-memory mirror and upstream. */
import { providerSetRoutes } from '../../../server/src/admin/provider-sets/index.js';
import { ProviderSetService } from '../../../server/src/admin/provider-sets/service.js';
import { ProviderSetRepository } from '../../../server/src/db/provider-sets.js';
import type { UpstreamVersion } from '../../../server/src/upstream/documents.js';
import type { ProviderRegistry } from '../../../server/src/upstream/registry.js';
import { createWorld, fakeRegistries, startAdmin, type World } from '../routes/helpers.js';

export const NOW = Date.parse('2025-03-04T05:06:07.000Z');
export const AWS = 'registry.terraform.io/hashicorp/aws';
export const NULL = 'registry.terraform.io/hashicorp/null';
const linux = { os: 'linux', arch: 'amd64' } as const;
const darwin = { os: 'darwin', arch: 'arm64' } as const;

export function upstream(): Record<string, UpstreamVersion[]> {
  return {
    [AWS]: [
      { version: '5.30.0', protocols: ['5.0'], platforms: [linux, darwin] },
      { version: '5.31.0', protocols: ['5.0'], platforms: [linux, darwin] },
    ],
    [NULL]: [{ version: '3.2.1', protocols: ['5.0'], platforms: [linux] }],
  };
}

/** The provider-set routes over `world`, planning against `registries`, one attempt per item. */
export function startProviderSetAdmin(world: World, registries: { get(hostname: string): ProviderRegistry }, now?: () => number) {
  const sets = new ProviderSetService({
    sets: new ProviderSetRepository(world.db),
    providers: world.providers,
    jobs: world.jobs,
    store: world.store,
    registries,
    maxAttempts: 1,
    invalidate: world.invalidate,
    ...(now ? { now } : {}),
  });
  return startAdmin(providerSetRoutes({ sets }));
}

export async function setup() {
  const world = await createWorld();
  const versions = upstream();
  const registries = fakeRegistries(versions);
  let clock = NOW;
  const server = await startProviderSetAdmin(world, registries, () => clock);
  const jobCount = () => world.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM jobs').get()!.n;
  return {
    world,
    versions,
    registries,
    server,
    jobCount,
    tick(ms: number) {
      clock += ms;
    },
    put: (path: string, body: unknown, token = 'operator-token') => server.call('PUT', `/provider-sets/${path}`, { token, body }),
    get: (path: string, token = 'operator-token') => server.call('GET', `/provider-sets/${path}`, { token }),
    del: (path: string, token = 'operator-token') => server.call('DELETE', `/provider-sets/${path}`, { token }),
  };
}

export type Setup = Awaited<ReturnType<typeof setup>>;
export const cleanup = (s: Setup) => s.server.close().finally(() => s.world.close());

export function providerSet(providers: unknown[], opts: { uid?: string; generation?: number; resync?: boolean } = {}) {
  return { uid: opts.uid ?? 'uid-1', generation: opts.generation ?? 1, kind: 'ProviderSet', spec: { providers }, ...(opts.resync ? { resync: true } : {}) };
}
