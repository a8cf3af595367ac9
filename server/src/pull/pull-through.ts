/**
 * The miss seam's policy: which reads the mirror may answer from an upstream,
 * and how. One place decides hit, pulled, stale and refused, and owns the map
 * of in-flight upstream lookups so concurrent misses of one key share one
 * promise. Metadata comes through UpstreamMetadata (cached in SQLite, with
 * stale-if-error and per-upstream backoff), archives through ArchivePuller
 * (one download for every caller, verified before a response completes).
 * Modules take the same path: their versions lists through the same cache and
 * upstream health, a cold download through ModuleIngest (which fetches once
 * per version across callers and processes).
 */

import type { ProviderIdentity } from '../db/providers.js';
import { DomainError, IntegrityError, InvalidInput, LimitExceeded, NotFound, Unavailable, UpstreamError } from '../errors.js';
import type { MissAnswer, MissHandler } from '../mirror/service.js';
import { formatModuleAddress } from '../modules/address.js';
import type { ModuleAddress, ModuleIngest, ModuleVersionRow } from '../modules/ports.js';
import { untilAborted } from '../storage/streaming.js';
import { UpstreamBackingOff, UpstreamIntegrityFailure, UpstreamUnavailable } from '../upstream/errors.js';
import type { UpstreamVersion } from '../upstream/documents.js';
import type { ArchivePuller, Cached, PulledArchive, UpstreamHealthState, UpstreamMetadata, VerifiedRelease } from './ports.js';

export interface PullThroughPolicy {
  enabled: boolean;
  /**
   * Address globs ("*" within a segment): "host/namespace/type" for providers,
   * which also cover modules by "host/namespace/name"; "host/namespace/name/system" for modules only.
   */
  include: readonly string[];
  /** Wins over include. */
  exclude: readonly string[];
}

export interface PullThroughOptions {
  policy: PullThroughPolicy;
  /** Hostnames that have an upstream (built-in and configured); any other is refused with no network call. */
  upstreams: Iterable<string>;
  metadata: UpstreamMetadata;
  puller: ArchivePuller;
  /** pull_through.metadata_ttl (ms): how long a document built from a fresh upstream answer is reused. */
  metadataTtlMs?: number;
  /** Module pull-through; absent: module misses are refused. */
  modules?: ModulePullOptions;
  /**
   * How long a read of something already held waits for the upstream before
   * it is answered with what is held: a slow upstream never holds up held content.
   */
  heldWaitMs?: number;
  now?: () => number;
}

/** What the seam needs for modules: the cached versions lists (CachedUpstreamMetadata) and the one ingest of this process. */
export interface ModulePullOptions {
  metadata: ModuleMetadata;
  ingest: ModuleIngest;
  /** Hostnames whose upstream serves modules (a network-mirror upstream serves none); default: every upstream. */
  hostnames?: Iterable<string>;
}

export interface ModuleMetadata {
  /** The upstream's versions of a module, cached like provider lists; NotFound when it has no such module. */
  moduleVersions(address: ModuleAddress, signal?: AbortSignal): Promise<Cached<string[]>>;
  health(hostname: string): UpstreamHealthState;
  /** Runs a request to the upstream under its health: refused while it backs off, its failure counted. */
  guarded<T>(hostname: string, send: () => Promise<T>): Promise<T>;
}

/** Running totals, read by the metrics scrape. */
export interface PullThroughStats {
  /** Reads that reached the seam for a provider it covers. */
  misses: number;
  /** Answered with what is held (the upstream was slow, failing, or the archive was already published). */
  hits: number;
  /** Answered from a fresh upstream answer (or a pull). */
  pulled: number;
  /** Answered from upstream metadata past metadata_ttl. */
  stale: number;
  /** Not covered (off, not included, excluded, no upstream) or absent upstream. */
  refused: number;
  /** Callers that joined a lookup or download already in flight. */
  coalesced: number;
  /** Misses that ended in an error (503, 502, integrity). */
  failed: number;
}

const DEFAULT_METADATA_TTL_MS = 10 * 60 * 1000;
const DEFAULT_HELD_WAIT_MS = 1500;
/** A stale answer is reused only briefly: the background revalidation may land any moment. */
const STALE_REUSE_MS = 1000;
const DEFAULT_RETRY_AFTER_SECONDS = 5;

export class PullThrough implements MissHandler {
  readonly stats: PullThroughStats = { misses: 0, hits: 0, pulled: 0, stale: 0, refused: 0, coalesced: 0, failed: 0 };
  /** The same answers for module reads, counted apart so the provider series keep their meaning. */
  readonly moduleStats: PullThroughStats = { misses: 0, hits: 0, pulled: 0, stale: 0, refused: 0, coalesced: 0, failed: 0 };
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly upstreams: Set<string>;
  private readonly moduleUpstreams: Set<string>;
  private readonly include: RegExp[];
  private readonly exclude: RegExp[];
  private readonly moduleInclude: ModuleGlob[];
  private readonly moduleExclude: ModuleGlob[];
  private readonly ttlMs: number;
  private readonly heldWaitMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: PullThroughOptions) {
    this.upstreams = new Set([...opts.upstreams].map((h) => h.toLowerCase()));
    this.moduleUpstreams = new Set([...(opts.modules?.hostnames ?? this.upstreams)].map((h) => h.toLowerCase()));
    this.include = opts.policy.include.map(globToRegExp);
    this.exclude = opts.policy.exclude.map(globToRegExp);
    this.moduleInclude = opts.policy.include.map(moduleGlob);
    this.moduleExclude = opts.policy.exclude.map(moduleGlob);
    this.ttlMs = opts.metadataTtlMs ?? DEFAULT_METADATA_TTL_MS;
    this.heldWaitMs = opts.heldWaitMs ?? DEFAULT_HELD_WAIT_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Whether reads of this provider may go to its upstream: enabled, has an upstream, included and not excluded. */
  covers(id: ProviderIdentity): boolean {
    if (!this.opts.policy.enabled || !this.upstreams.has(id.hostname)) return false;
    const address = `${id.hostname}/${id.namespace}/${id.type}`;
    return this.include.some((r) => r.test(address)) && !this.exclude.some((r) => r.test(address));
  }

  /**
   * Whether reads of this module may go to its upstream: enabled, modules
   * wired, an upstream that serves modules, included and not excluded. A
   * module address "host/ns/name/system" is matched by four-segment globs as
   * it is, and by three-segment (provider) globs on "host/ns/name": so the
   * default include "registry.terraform.io/*\/*" covers that registry's
   * providers and modules alike, and excluding "host/ns/*" excludes both.
   */
  coversModule(a: ModuleAddress): boolean {
    if (!this.opts.policy.enabled || this.opts.modules === undefined || !this.moduleUpstreams.has(a.hostname.toLowerCase())) return false;
    return this.moduleInclude.some((g) => g(a)) && !this.moduleExclude.some((g) => g(a));
  }

  versions(id: ProviderIdentity, held: boolean): Promise<MissAnswer<UpstreamVersion[]>> {
    return this.lookup(this.provider(id), held, `v|${address(id)}`, () => this.opts.metadata.versions(id));
  }

  release(id: ProviderIdentity, version: string, held: boolean): Promise<MissAnswer<VerifiedRelease>> {
    return this.lookup(this.provider(id), held, `r|${address(id)}|${version}`, () => this.opts.metadata.release(id, version));
  }

  async archive(id: ProviderIdentity, version: string, filename: string, signal?: AbortSignal): Promise<MissAnswer<PulledArchive>> {
    const target = this.provider(id);
    if (!target.covered) return this.refused(target, 'not covered by pull_through');
    this.stats.misses++;
    try {
      const release = await this.shared(target, `r|${address(id)}|${version}`, () => this.opts.metadata.release(id, version));
      const platform = Object.keys(release.value.archives).find((p) => release.value.archives[p]?.filename === filename);
      if (platform === undefined) return this.refused(target, `no archive ${filename} in release ${version} of ${address(id)}`);
      // A cached release must not send a download to an upstream that is being left alone.
      this.assertNotBackingOff(id.hostname);
      const pulled = await this.opts.puller.pull(id, release.value, platform, signal);
      if (pulled.via === 'joined') this.stats.coalesced++;
      if (pulled.via === 'store') this.stats.hits++;
      else this.stats.pulled++;
      return { outcome: 'pulled', value: pulled, ttlMs: 0 };
    } catch (err) {
      if (err instanceof NotFound) return this.refused(target, err.message, this.ttlMs);
      this.stats.failed++;
      throw this.asMissError(target, err);
    }
  }

  /** The upstream's versions of a module (version strings), merged into the module versions list. */
  moduleVersions(a: ModuleAddress, held: boolean): Promise<MissAnswer<string[]>> {
    const target = this.module(a);
    return this.lookup(target, held, `mv|${target.label.toLowerCase()}`, () => this.opts.modules!.metadata.moduleVersions(a));
  }

  /**
   * A module version not held: checked against the upstream's (cached) list,
   * then ingested once for every concurrent caller (ModuleIngest also holds a
   * lease across processes). The caller's abort ends only its own wait: the
   * ingest goes on for the others and for the next download.
   */
  async moduleDownload(a: ModuleAddress, version: string, signal?: AbortSignal): Promise<MissAnswer<ModuleVersionRow>> {
    const target = this.module(a);
    if (!target.covered) return this.refused(target, 'not covered by pull_through');
    const modules = this.opts.modules!;
    this.moduleStats.misses++;
    try {
      const key = `md|${target.label.toLowerCase()}|${version}`;
      const ingested = await untilAborted(
        this.shared(target, key, async () => {
          const list = await this.shared(target, `mv|${target.label.toLowerCase()}`, () => modules.metadata.moduleVersions(a));
          const listed = list.value.includes(version);
          // A stale list may predate the version: then the upstream's download answer decides.
          if (list.freshness === 'fresh' && !listed) throw new NotFound(`version ${version} of module ${target.label} not found upstream`);
          this.assertNotBackingOff(a.hostname, modules.metadata);
          try {
            return await modules.metadata.guarded(a.hostname.toLowerCase(), () => modules.ingest.ingest(a, version, { kind: 'pulled' }));
          } catch (err) {
            // Listed, yet absent where the upstream points (a git ref or repository gone): its fault, not an absent version.
            if (listed && err instanceof NotFound) throw new UpstreamModuleMissing(target.hostname, target.label, version, err);
            throw err;
          }
        }),
        signal,
      );
      if (ingested.fetched) this.moduleStats.pulled++;
      else this.moduleStats.hits++;
      return { outcome: 'pulled', value: ingested.row, ttlMs: 0 };
    } catch (err) {
      if (err instanceof NotFound) return this.refused(target, err.message, this.ttlMs);
      if (signal?.aborted) throw err;
      this.moduleStats.failed++;
      throw this.asMissError(target, refusedPackage(target, version, err));
    }
  }

  private provider(id: ProviderIdentity): Target {
    return { covered: this.covers(id), hostname: id.hostname, label: address(id), stats: this.stats, health: this.opts.metadata };
  }

  private module(a: ModuleAddress): Target {
    return {
      covered: this.coversModule(a),
      hostname: a.hostname.toLowerCase(),
      label: formatModuleAddress(a),
      stats: this.moduleStats,
      health: this.opts.modules?.metadata ?? this.opts.metadata,
    };
  }

  private assertNotBackingOff(hostname: string, metadata: Pick<UpstreamMetadata, 'health'> = this.opts.metadata): void {
    const health = metadata.health(hostname);
    if (health.state === 'backing_off') throw new UpstreamBackingOff(hostname, ((health.retryAt ?? this.now()) - this.now()) / 1000);
  }

  private async lookup<T>(target: Target, held: boolean, key: string, fetch: () => Promise<Cached<T>>): Promise<MissAnswer<T>> {
    const { stats } = target;
    if (!target.covered) return held ? { outcome: 'hit' } : this.refused(target, 'not covered by pull_through');
    stats.misses++;
    if (held && this.inFlight.has(key)) {
      // One reader already waits on the upstream for this key; the others answer with what is held at once.
      stats.hits++;
      stats.coalesced++;
      return { outcome: 'hit', ttlMs: 0 };
    }
    const pending = this.shared(target, key, fetch);
    try {
      const cached = held ? await withinOrUndefined(pending, this.heldWaitMs) : await pending;
      if (cached === undefined) {
        // Held, and the upstream is slow: what is held now, the full answer once it lands.
        stats.hits++;
        return { outcome: 'hit', ttlMs: 0 };
      }
      return this.answer(stats, cached);
    } catch (err) {
      if (held) {
        // What is held is the whole answer for as long as the upstream's "absent" holds; while it fails, reuse it briefly.
        stats.hits++;
        return { outcome: 'hit', ttlMs: err instanceof NotFound ? this.ttlMs : STALE_REUSE_MS };
      }
      if (err instanceof NotFound) return this.refused(target, err.message, this.ttlMs);
      stats.failed++;
      throw this.asMissError(target, err);
    }
  }

  private answer<T>(stats: PullThroughStats, cached: Cached<T>): MissAnswer<T> {
    if (cached.freshness === 'stale') {
      stats.stale++;
      return { outcome: 'stale', value: cached.value, ttlMs: STALE_REUSE_MS };
    }
    stats.pulled++;
    return { outcome: 'pulled', value: cached.value, ttlMs: Math.max(0, cached.fetchedAt + this.ttlMs - this.now()) };
  }

  /** One promise per key for every concurrent caller; removed once settled, so the next miss asks again (through the cache). */
  private shared<T>(target: Target, key: string, fetch: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) {
      target.stats.coalesced++;
      return running as Promise<T>;
    }
    const p = fetch().finally(() => this.inFlight.delete(key));
    // A caller that stopped waiting (held content answered first) must not leave an unhandled rejection behind.
    p.catch(() => undefined);
    this.inFlight.set(key, p);
    return p;
  }

  private refused(target: Target, reason: string, ttlMs?: number): MissAnswer<never> {
    target.stats.refused++;
    return ttlMs === undefined ? { outcome: 'refused', reason } : { outcome: 'refused', reason, ttlMs };
  }

  /**
   * An unreachable upstream is a 503 with Retry-After for a miss, not a 502:
   * the mirror is the client's server, and the answer will come once the
   * upstream is back. Backing-off errors are Unavailable already.
   */
  private asMissError(target: Target, err: unknown): unknown {
    if (err instanceof IntegrityError) return new UpstreamIntegrityFailure(target.hostname, err);
    if (!(err instanceof UpstreamUnavailable)) return err;
    const health = target.health.health(target.hostname);
    const seconds = health.retryAt !== undefined ? Math.max(1, Math.ceil((health.retryAt - this.now()) / 1000)) : DEFAULT_RETRY_AFTER_SECONDS;
    return new Unavailable(`upstream ${target.hostname} is unavailable (${(err as DomainError).message}); ${target.label} is not held`, { cause: err, retryAfterSeconds: seconds });
  }
}

/** What one seam method works on: whether it is covered, and where its answers are counted. */
interface Target {
  covered: boolean;
  hostname: string;
  /** "host/ns/type" or "host/ns/name/system", for keys and messages. */
  label: string;
  stats: PullThroughStats;
  health: Pick<UpstreamMetadata, 'health'>;
}

/**
 * A module package the mirror refused to keep (unsupported scheme, a hostile
 * or oversized archive, a missing subdirectory): the upstream served it, the
 * client asked nothing wrong, so it is a 502 naming the reason.
 */
export class UpstreamModuleRefused extends UpstreamError {
  readonly retryable = false;

  constructor(hostname: string, label: string, version: string, cause: Error) {
    super(`upstream ${hostname} points version ${version} of module ${label} at a package this mirror refuses: ${boundedReason(cause.message)}`, hostname, { cause });
  }
}

/** A version the upstream lists whose package is not where the upstream points (502, naming what is missing). */
export class UpstreamModuleMissing extends UpstreamError {
  readonly retryable = false;

  constructor(hostname: string, label: string, version: string, cause: Error) {
    super(`upstream ${hostname} lists version ${version} of module ${label}, but its package is missing: ${boundedReason(cause.message)}`, hostname, { cause });
  }
}

function refusedPackage(target: Target, version: string, err: unknown): unknown {
  return err instanceof InvalidInput || err instanceof LimitExceeded ? new UpstreamModuleRefused(target.hostname, target.label, version, err) : err;
}

/** The refusal's reason, one bounded line: it may quote an entry name from the archive, never more of it. */
function boundedReason(message: string): string {
  const line = message.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function address(id: ProviderIdentity): string {
  return `${id.hostname}/${id.namespace}/${id.type}`;
}

/** "registry.terraform.io/*\/*": "*" matches within one segment; everything else literally, case-insensitively. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${body}$`, 'i');
}

type ModuleGlob = (a: ModuleAddress) => boolean;

/** A glob as it applies to modules: four segments match the whole address, three match "host/ns/name", others nothing. */
function moduleGlob(glob: string): ModuleGlob {
  const re = globToRegExp(glob);
  const segments = glob.split('/').length;
  if (segments === 4) return (a) => re.test(formatModuleAddress(a));
  if (segments === 3) return (a) => re.test(`${a.hostname}/${a.namespace}/${a.name}`);
  return () => false;
}

/** The promise's value if it settles within `ms`, else undefined (its rejection within `ms` is thrown). */
async function withinOrUndefined<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
