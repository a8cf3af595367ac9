/**
 * The miss seam's policy: which reads the mirror may answer from an upstream,
 * and how. One place decides hit, pulled, stale and refused, and owns the map
 * of in-flight upstream lookups so concurrent misses of one key share one
 * promise. Metadata comes through UpstreamMetadata (cached in SQLite, with
 * stale-if-error and per-upstream backoff), archives through ArchivePuller
 * (one download for every caller, verified before a response completes).
 */

import type { ProviderIdentity } from '../db/providers.js';
import { DomainError, IntegrityError, NotFound, Unavailable } from '../errors.js';
import type { MissAnswer, MissHandler } from '../mirror/service.js';
import { UpstreamBackingOff, UpstreamIntegrityFailure, UpstreamUnavailable } from '../upstream/errors.js';
import type { UpstreamVersion } from '../upstream/documents.js';
import type { ArchivePuller, Cached, PulledArchive, UpstreamMetadata, VerifiedRelease } from './ports.js';

export interface PullThroughPolicy {
  enabled: boolean;
  /** Provider address globs "host/namespace/type" ("*" within a segment). */
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
  /**
   * How long a read of something already held waits for the upstream before
   * it is answered with what is held: a slow upstream never holds up held content.
   */
  heldWaitMs?: number;
  now?: () => number;
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
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly upstreams: Set<string>;
  private readonly include: RegExp[];
  private readonly exclude: RegExp[];
  private readonly ttlMs: number;
  private readonly heldWaitMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: PullThroughOptions) {
    this.upstreams = new Set([...opts.upstreams].map((h) => h.toLowerCase()));
    this.include = opts.policy.include.map(globToRegExp);
    this.exclude = opts.policy.exclude.map(globToRegExp);
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

  versions(id: ProviderIdentity, held: boolean): Promise<MissAnswer<UpstreamVersion[]>> {
    return this.lookup(id, held, `v|${address(id)}`, () => this.opts.metadata.versions(id));
  }

  release(id: ProviderIdentity, version: string, held: boolean): Promise<MissAnswer<VerifiedRelease>> {
    return this.lookup(id, held, `r|${address(id)}|${version}`, () => this.opts.metadata.release(id, version));
  }

  async archive(id: ProviderIdentity, version: string, filename: string, signal?: AbortSignal): Promise<MissAnswer<PulledArchive>> {
    if (!this.covers(id)) return this.refused('not covered by pull_through');
    this.stats.misses++;
    try {
      const release = await this.shared(`r|${address(id)}|${version}`, () => this.opts.metadata.release(id, version));
      const platform = Object.keys(release.value.archives).find((p) => release.value.archives[p]?.filename === filename);
      if (platform === undefined) return this.refused(`no archive ${filename} in release ${version} of ${address(id)}`);
      // A cached release must not send a download to an upstream that is being left alone.
      const health = this.opts.metadata.health(id.hostname);
      if (health.state === 'backing_off') {
        throw new UpstreamBackingOff(id.hostname, ((health.retryAt ?? this.now()) - this.now()) / 1000);
      }
      const pulled = await this.opts.puller.pull(id, release.value, platform, signal);
      if (pulled.via === 'joined') this.stats.coalesced++;
      if (pulled.via === 'store') this.stats.hits++;
      else this.stats.pulled++;
      return { outcome: 'pulled', value: pulled, ttlMs: 0 };
    } catch (err) {
      if (err instanceof NotFound) return this.refused(err.message, this.ttlMs);
      this.stats.failed++;
      throw this.asMissError(id, err);
    }
  }

  private async lookup<T>(id: ProviderIdentity, held: boolean, key: string, fetch: () => Promise<Cached<T>>): Promise<MissAnswer<T>> {
    if (!this.covers(id)) return held ? { outcome: 'hit' } : this.refused('not covered by pull_through');
    this.stats.misses++;
    if (held && this.inFlight.has(key)) {
      // One reader already waits on the upstream for this key; the others answer with what is held at once.
      this.stats.hits++;
      this.stats.coalesced++;
      return { outcome: 'hit', ttlMs: 0 };
    }
    const pending = this.shared(key, fetch);
    try {
      const cached = held ? await withinOrUndefined(pending, this.heldWaitMs) : await pending;
      if (cached === undefined) {
        // Held, and the upstream is slow: what is held now, the full answer once it lands.
        this.stats.hits++;
        return { outcome: 'hit', ttlMs: 0 };
      }
      return this.answer(cached);
    } catch (err) {
      if (held) {
        // What is held is the whole answer for as long as the upstream's "absent" holds; while it fails, reuse it briefly.
        this.stats.hits++;
        return { outcome: 'hit', ttlMs: err instanceof NotFound ? this.ttlMs : STALE_REUSE_MS };
      }
      if (err instanceof NotFound) return this.refused(err.message, this.ttlMs);
      this.stats.failed++;
      throw this.asMissError(id, err);
    }
  }

  private answer<T>(cached: Cached<T>): MissAnswer<T> {
    if (cached.freshness === 'stale') {
      this.stats.stale++;
      return { outcome: 'stale', value: cached.value, ttlMs: STALE_REUSE_MS };
    }
    this.stats.pulled++;
    return { outcome: 'pulled', value: cached.value, ttlMs: Math.max(0, cached.fetchedAt + this.ttlMs - this.now()) };
  }

  /** One promise per key for every concurrent caller; removed once settled, so the next miss asks again (through the cache). */
  private shared<T>(key: string, fetch: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) {
      this.stats.coalesced++;
      return running as Promise<T>;
    }
    const p = fetch().finally(() => this.inFlight.delete(key));
    // A caller that stopped waiting (held content answered first) must not leave an unhandled rejection behind.
    p.catch(() => undefined);
    this.inFlight.set(key, p);
    return p;
  }

  private refused(reason: string, ttlMs?: number): MissAnswer<never> {
    this.stats.refused++;
    return ttlMs === undefined ? { outcome: 'refused', reason } : { outcome: 'refused', reason, ttlMs };
  }

  /**
   * An unreachable upstream is a 503 with Retry-After for a miss, not a 502:
   * the mirror is the client's server, and the answer will come once the
   * upstream is back. Backing-off errors are Unavailable already.
   */
  private asMissError(id: ProviderIdentity, err: unknown): unknown {
    if (err instanceof IntegrityError) return new UpstreamIntegrityFailure(id.hostname, err);
    if (!(err instanceof UpstreamUnavailable)) return err;
    const health = this.opts.metadata.health(id.hostname);
    const seconds = health.retryAt !== undefined ? Math.max(1, Math.ceil((health.retryAt - this.now()) / 1000)) : DEFAULT_RETRY_AFTER_SECONDS;
    return new Unavailable(`upstream ${id.hostname} is unavailable (${(err as DomainError).message}); ${address(id)} is not held`, { cause: err, retryAfterSeconds: seconds });
  }
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
