import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { JOB_ITEM_STATUSES, JOB_STATUSES, type JobCounts } from '../db/job-stats.js';
import { type PullMetadataSnapshot, registerPullMetadataMetrics } from './pull-metadata.js';
import { type PullSeamSnapshot, registerPullSeamMetrics } from './pull-seam.js';
import { type DiskCacheSnapshot, registerDiskCacheMetrics } from './disk-cache.js';
import { type DataVolumeSnapshot, type StorageSnapshot, registerStorageMetrics } from './storage.js';

/** Where the scrape reads state that other components already keep; each is optional. */
export interface MetricsSources {
  /** Running totals of the read-path cache (MirrorService.hits / misses). */
  cache?: () => { hits: number; misses: number };
  /** Queue totals by status (JobStatsRepository.counts). */
  jobs?: () => JobCounts;
  /** Per upstream hostname, request counts by result (RegistryClients.stats()). */
  upstream?: () => Record<string, { results: Partial<Record<string, number>> }>;
  /** Pull-through's upstream metadata cache: upstream state, metadata fetches, stale answers (CachedUpstreamMetadata.stats). */
  pullMetadata?: () => PullMetadataSnapshot;
  /** The read path's miss seam and the archive puller: answers by kind, coalesced waiters, downloads, bytes fetched. */
  pullSeam?: () => PullSeamSnapshot;
  /** The archive disk cache (CachedArchiveStore.stats): hits, misses, fills, evictions, bytes held; absent when it is off. */
  diskCache?: () => DiskCacheSnapshot;
  /** Archives held, by kind (provider totals and module stats from the repositories). */
  storage?: () => StorageSnapshot;
  /** The filesystem holding the data directory (statfs). */
  dataVolume?: () => DataVolumeSnapshot;
  /** Seconds the longest-waiting due pending job item has waited for a worker, 0 when none is due (oldestDueItemAge). */
  oldestDueItemAge?: () => number;
}

export interface MetricsOptions extends MetricsSources {
  /** Process and Node.js runtime metrics (default true); tests creating many instances may skip them. */
  defaultMetrics?: boolean;
  /** A source that threw during a scrape; its series keep their previous values. */
  onSourceError?: (source: keyof MetricsSources, err: unknown) => void;
}

export interface RequestObservation {
  method: string;
  route: string;
  status: number;
  seconds: number;
}

/** Seconds: 1 ms .. 10 s, roughly ×2.5 per step; index.json from cache lands in the first buckets, downloads in the last. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The server's Prometheus metrics, in a registry of its own rather than
 * prom-client's global one, so each server (and each test) has independent
 * series. Counters that mirror state kept elsewhere (cache, upstream, jobs) are
 * computed at scrape time from the sources, never pushed on the hot path.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  /** Archive bytes completely sent to clients (redirects to presigned URLs send none). */
  readonly bytesServed: Counter;

  constructor(opts: MetricsOptions = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, matched route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer, by method and matched route pattern; streamed bodies (archives) until fully sent',
      labelNames: ['method', 'route'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.bytesServed = new Counter({ name: 'bytes_served_total', help: 'Provider archive bytes served by this process', registers });
    this.registerSources(opts);
  }

  observeRequest(o: RequestObservation): void {
    this.httpRequests.inc({ method: o.method, route: o.route, status: String(o.status) });
    this.httpDuration.observe({ method: o.method, route: o.route }, o.seconds);
  }

  /**
   * observeRequest for one method, route and status, with the series looked
   * up once: the warm path (mirror/warm-path.ts) records a request without
   * hashing its labels each time.
   */
  requestObserver(o: Omit<RequestObservation, 'seconds'>): (seconds: number) => void {
    const count = this.httpRequests.labels({ method: o.method, route: o.route, status: String(o.status) });
    const duration = this.httpDuration.labels({ method: o.method, route: o.route });
    return (seconds) => {
      count.inc();
      duration.observe(seconds);
    };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Read-serving workers' request series (serving/), summed into this process's on every scrape. */
  private peers: (() => Promise<MetricObjectWithValues<MetricValue<string>>[][]>) | undefined;

  addPeers(collect: () => Promise<MetricObjectWithValues<MetricValue<string>>[][]>): void {
    this.peers = collect;
  }

  /** The Prometheus text exposition of every series (requests answered by workers included). */
  async scrape(): Promise<string> {
    const others = this.peers ? await this.peers() : [];
    if (others.length === 0) return this.registry.metrics();
    // Series the workers keep are summed with this process's of the same name; the rest are this process's alone, as they are.
    const names = new Set(others.flat().map((m) => m.name));
    // prom-client types these as plain objects; they are its metric instances.
    const mine = this.registry.getMetricsAsArray() as unknown as (Metric & { name: string })[];
    const own = await Promise.all(mine.filter((m) => names.has(m.name)).map((m) => m.get()));
    const summed = AggregatorRegistry.aggregate([own, ...others]);
    for (const metric of mine) if (!names.has(metric.name)) summed.registerMetric(metric);
    return summed.metrics();
  }

  private registerSources(opts: MetricsOptions): void {
    const registers = [this.registry];
    const read = <T>(source: keyof MetricsSources, fn: (() => T) | undefined): T | undefined => {
      if (!fn) return undefined;
      try {
        return fn();
      } catch (err) {
        opts.onSourceError?.(source, err);
        return undefined;
      }
    };
    const cacheCounter = (name: string, help: string, pick: (c: { hits: number; misses: number }) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const c = read('cache', opts.cache);
          if (c) setCounter(this, {}, pick(c));
        },
      });
    cacheCounter('mirror_cache_hits_total', 'Read-path lookups answered from the in-memory cache', (c) => c.hits);
    cacheCounter('mirror_cache_misses_total', 'Read-path lookups that went to the database', (c) => c.misses);

    new Counter({
      name: 'upstream_requests_total',
      help: 'Requests to upstream registries, by hostname and result',
      labelNames: ['hostname', 'result'],
      registers,
      collect() {
        const stats = read('upstream', opts.upstream);
        if (!stats) return;
        this.reset();
        for (const [hostname, s] of Object.entries(stats)) {
          for (const [result, n] of Object.entries(s.results)) this.inc({ hostname, result }, n ?? 0);
        }
      },
    });

    // Each gauge reads the source itself (two indexed GROUP BYs) rather than
    // sharing one read, so neither depends on the order the registry collects in.
    const jobGauge = <S extends string>(name: string, help: string, statuses: readonly S[], pick: (c: JobCounts) => Record<S, number>) =>
      new Gauge({
        name,
        help,
        labelNames: ['status'],
        registers,
        collect() {
          const counts = read('jobs', opts.jobs);
          if (counts) for (const status of statuses) this.set({ status }, pick(counts)[status]);
        },
      });
    jobGauge('jobs', 'Jobs in the queue database, by status', JOB_STATUSES, (c) => c.jobs);
    jobGauge('job_items', 'Job items (one package each) in the queue database, by status', JOB_ITEM_STATUSES, (c) => c.items);

    registerPullMetadataMetrics(this.registry, () => read('pullMetadata', opts.pullMetadata));
    registerPullSeamMetrics(this.registry, () => read('pullSeam', opts.pullSeam));
    registerDiskCacheMetrics(this.registry, () => read('diskCache', opts.diskCache));
    registerStorageMetrics(this.registry, {
      storage: () => read('storage', opts.storage),
      dataVolume: () => read('dataVolume', opts.dataVolume),
      oldestDueItemAge: () => read('oldestDueItemAge', opts.oldestDueItemAge),
    });
  }
}

/** Counters may only go up; a total read from elsewhere is set by reset + inc. */
function setCounter<L extends string>(counter: Counter<L>, labels: Partial<Record<L, string>>, value: number): void {
  counter.reset();
  counter.inc(labels, value);
}
