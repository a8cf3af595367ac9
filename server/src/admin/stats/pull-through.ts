import type { PullThroughStats } from '../../pull/pull-through.js';
import type { UpstreamHealthState } from '../../pull/ports.js';
import { BUILT_IN_UPSTREAMS } from '../../upstream/registry.js';

/**
 * What the pull-through report reads from the running seam: its running
 * totals (provider and module reads counted apart) and its upstreams' health.
 * Services see these, never the seam itself.
 */
export interface PullThroughSource {
  /** pull_through.enabled: off, the seam answers nothing from upstreams and its totals are reported as zeros. */
  enabled: boolean;
  stats: Readonly<PullThroughStats>;
  moduleStats?: Readonly<PullThroughStats>;
  health(hostname: string): UpstreamHealthState;
}

export interface PullThroughReportDeps {
  /** Hostnames of the configured upstream blocks; the built-in ones are always listed. */
  upstreams: Iterable<string>;
  /** Absent (a process without the seam): reported as off, every upstream up. */
  pullThrough?: PullThroughSource;
}

export interface PullThroughTotals extends PullThroughStats {
  /** hits / misses; null before the first miss. */
  hitRatio: number | null;
}

export interface PullThroughReport {
  enabled: boolean;
  providers: PullThroughTotals;
  modules: PullThroughTotals;
  /** Providers and modules together. */
  total: PullThroughTotals;
  upstreams: UpstreamHealthState[];
}

const ZERO: PullThroughStats = { misses: 0, hits: 0, pulled: 0, stale: 0, refused: 0, coalesced: 0, failed: 0 };
const KEYS = Object.keys(ZERO) as (keyof PullThroughStats)[];

/** Built-in and configured upstream hostnames, lowercase, each once, in order. */
export function upstreamHostnames(configured: Iterable<string>): string[] {
  return [...new Set([...Object.keys(BUILT_IN_UPSTREAMS), ...configured].map((h) => h.toLowerCase()))].sort();
}

export function pullThroughReport(deps: PullThroughReportDeps): PullThroughReport {
  const source = deps.pullThrough;
  const on = source?.enabled === true;
  // Copies: the seam keeps counting while the answer is serialized.
  const providers = on ? { ...source.stats } : { ...ZERO };
  const modules = on && source.moduleStats ? { ...source.moduleStats } : { ...ZERO };
  const total = Object.fromEntries(KEYS.map((k) => [k, providers[k] + modules[k]])) as unknown as PullThroughStats;
  const upstreams = upstreamHostnames(deps.upstreams).map((h): UpstreamHealthState => source?.health(h) ?? { hostname: h, state: 'up', consecutiveFailures: 0 });
  return { enabled: on, providers: withRatio(providers), modules: withRatio(modules), total: withRatio(total), upstreams };
}

function withRatio(s: PullThroughStats): PullThroughTotals {
  return { ...s, hitRatio: s.misses > 0 ? s.hits / s.misses : null };
}
