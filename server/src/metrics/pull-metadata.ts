import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * What the upstream metadata cache reports (CachedUpstreamMetadata.stats()),
 * restated here so metrics depend on a shape, not on the pull-through code.
 * Hostnames are only configured upstreams: the cache refuses every other one
 * before it counts anything, so the label set stays bounded.
 */
export interface PullMetadataSnapshot {
  upstreams: Array<{ hostname: string; state: 'up' | 'backing_off' }>;
  fetches: Array<{ hostname: string; kind: string; result: string; count: number }>;
  stale: Array<{ hostname: string; count: number }>;
}

/** Series computed at scrape time from `read` (undefined: the source failed, keep the last values). */
export function registerPullMetadataMetrics(registry: Registry, read: () => PullMetadataSnapshot | undefined): void {
  const registers = [registry];
  new Gauge({
    name: 'pull_upstream_state',
    help: 'Per configured upstream: 0 up, 1 backing off (after 429/503 Retry-After or repeated failures; misses answer 503 meanwhile)',
    labelNames: ['hostname'],
    registers,
    collect() {
      const s = read();
      if (s) for (const u of s.upstreams) this.set({ hostname: u.hostname }, u.state === 'backing_off' ? 1 : 0);
    },
  });
  new Counter({
    name: 'pull_upstream_metadata_fetches_total',
    help: 'Upstream metadata operations for pull-through (a versions list, or a release: its documents, SHA256SUMS and signature), by hostname, kind and result; concurrent callers share one',
    labelNames: ['hostname', 'kind', 'result'],
    registers,
    collect() {
      const s = read();
      if (!s) return;
      this.reset();
      for (const f of s.fetches) this.inc({ hostname: f.hostname, kind: f.kind, result: f.result }, f.count);
    },
  });
  new Counter({
    name: 'pull_stale_answers_total',
    help: 'Upstream version lists answered stale (past metadata_ttl while revalidating, or while the upstream fails), by hostname',
    labelNames: ['hostname'],
    registers,
    collect() {
      const s = read();
      if (!s) return;
      this.reset();
      for (const x of s.stale) this.inc({ hostname: x.hostname }, x.count);
    },
  });
}
