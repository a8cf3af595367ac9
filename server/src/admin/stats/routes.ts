import { z } from 'zod';
import { route, type RouteSpec } from '../framework/route.js';
import { READERS } from '../principal.js';
import { presentPullThrough, presentStorageStats } from './presenters.js';
import { pullThroughReport, type PullThroughReportDeps } from './pull-through.js';
import { storageReport, type StatsServiceDeps } from './service.js';

/** Without `upstreams` the pull-through report lists the built-in upstreams only. */
export type StatsRoutesDeps = StatsServiceDeps & Partial<PullThroughReportDeps>;

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

const HIT_RATIO = 'hits / misses: of the reads that reached pull-through, the share answered with what the mirror already held '
  + '(the upstream slow or failing, or another caller had just published it) rather than with an upstream answer; null before the first miss. '
  + 'Reads the mirror answers alone, without asking pull-through, are not counted';
const pullTotals = z.object({
  misses: z.number().describe('reads that reached pull-through for an address it covers'),
  hits: z.number().describe('answered with what the mirror held'),
  pulled: z.number().describe('answered from a fresh upstream answer (within metadata_ttl) or a pull'),
  stale: z.number().describe('answered from upstream metadata past metadata_ttl'),
  refused: z.number().describe('not covered (off, not included, excluded, no upstream) or absent upstream'),
  coalesced: z.number().describe('callers that joined a lookup or download already in flight'),
  failed: z.number().describe('misses that ended in an error (503, 502, integrity)'),
  hitRatio: z.number().nullable().describe(HIT_RATIO),
});
const pullReport = z.object({
  enabled: z.boolean().describe('pull_through.enabled; when false every total is 0'),
  hitRatio: z.number().nullable().describe(`providers and modules together: ${HIT_RATIO}`),
  providers: pullTotals,
  modules: pullTotals,
  total: pullTotals.describe('providers and modules added up'),
  upstreams: z
    .array(
      z.object({
        hostname: z.string(),
        state: z.enum(['up', 'backing_off']).describe('backing_off: after a 429/503 with Retry-After or repeated failures, nothing is sent to it until retryAt'),
        retryAt: z.string().nullable().describe('while backing off, when requests to it resume'),
        consecutiveFailures: z.number(),
      }),
    )
    .describe('every built-in and configured upstream hostname'),
});

/** Storage usage: totals, per registry and namespace, and the top providers and packages; pull-through's running totals. */
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
    route({
      method: 'get',
      path: '/stats/pull-through',
      summary: 'Pull-through since the server started: misses and how they were answered, the hit ratio, and each upstream\'s health',
      tag: 'stats',
      access: READERS,
      responses: { 200: { description: 'the running totals of this server process', schema: pullReport } },
      handler: async () => ({
        body: presentPullThrough(pullThroughReport({ upstreams: deps.upstreams ?? [], ...(deps.pullThrough ? { pullThrough: deps.pullThrough } : {}) })),
      }),
    }),
  ];
}
