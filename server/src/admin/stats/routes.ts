import { z } from 'zod';
import { route, type RouteSpec } from '../framework/route.js';
import { READERS } from '../principal.js';
import { presentStorageStats } from './presenters.js';
import { storageReport, type StatsServiceDeps } from './service.js';

export type StatsRoutesDeps = StatsServiceDeps;

const usage = {
  providers: z.number(),
  versions: z.number(),
  packages: z.number(),
  bytes: z.number(),
  downloads: z.number(),
};
const packageUsage = z.object({
  providerId: z.number(),
  source: z.string(),
  version: z.string(),
  platform: z.string(),
  filename: z.string(),
  size: z.number(),
  downloads: z.number(),
  lastDownloadAt: z.string().nullable(),
});
const report = z.object({
  modules: z.object({ modules: z.number(), versions: z.number(), bytes: z.number().describe('of the stored module archives') }),
  totals: z.object(usage),
  byHostname: z.array(z.object({ hostname: z.string(), ...usage })),
  byNamespace: z.array(z.object({ hostname: z.string(), namespace: z.string(), ...usage })),
  byProvider: z.array(
    z.object({
      id: z.number(),
      source: z.string(),
      status: z.string(),
      versions: z.number(),
      packages: z.number(),
      bytes: z.number(),
      downloads: z.number(),
      updatedAt: z.string(),
    }),
  ),
  largestPackages: z.array(packageUsage),
  mostDownloaded: z.array(packageUsage),
});

/** Storage usage: totals, per registry and namespace, and the top providers and packages. */
export function statsRoutes(deps: StatsRoutesDeps): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/stats/storage',
      summary: 'Storage usage: totals, by hostname and namespace, top 50 providers by bytes, top 20 packages by size and downloads',
      tag: 'stats',
      access: READERS,
      responses: { 200: { description: 'the storage report', schema: report } },
      handler: async () => ({ body: presentStorageStats(storageReport(deps)) }),
    }),
  ];
}
