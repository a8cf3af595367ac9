/**
 * UpstreamMetadata (ports.ts) over the upstream_cache table: what the read
 * path's misses ask the upstream, asked as rarely as correctness allows.
 *
 * - A versions list is reused for metadata_ttl. After that it is answered at
 *   once as 'stale' and one background request revalidates it (one per key,
 *   a few at a time overall, stopped by close()). While the upstream fails the
 *   stale list keeps being served up to stale_if_error past the ttl; beyond
 *   that the caller gets the upstream's error.
 * - A release (download documents, SHA256SUMS, signature) is verified before
 *   it is cached, and cached for good: upstream releases are immutable.
 * - Concurrent callers of one key share one upstream request; a caller's
 *   abort only ends its own wait. Upstream answers that are not outages
 *   (absent, protocol violation, bad signature) are remembered briefly, so a
 *   client repeating a bad request does not make the mirror repeat it upstream.
 * - Every request goes through UpstreamHealth: while an upstream is backing
 *   off, a miss fails at once with UpstreamBackingOff.
 * - A module's versions list (the module registry protocol) is cached and
 *   revalidated exactly like a provider's, under the same upstream health.
 *
 * Answers are shared between callers (and reused while their row is
 * unchanged): treat them as read-only.
 */

import { IntegrityError, InvalidInput, NotFound } from '../errors.js';
import { isBusy, whenNotBusy } from '../db/database.js';
import type { ProviderIdentity } from '../db/providers.js';
import type { UpstreamCacheEntry, UpstreamCacheKind, UpstreamCacheRepository } from '../db/upstream-cache.js';
import { isValidVersion } from '../providers/version.js';
import { abortError, untilAborted } from '../storage/streaming.js';
import type { ModuleAddress, ModuleUpstream } from '../modules/ports.js';
import type { UpstreamVersion } from '../upstream/documents.js';
import { InvalidUpstreamResponse, UpstreamBackingOff, UpstreamTimeout } from '../upstream/errors.js';
import type { HttpClientOptions } from '../upstream/http.js';
import type { ProviderRegistry } from '../upstream/registry.js';
import { Semaphore } from '../upstream/retry.js';
import type { Cached, UpstreamHealthState, UpstreamMetadata, VerifiedRelease } from './ports.js';
import { UpstreamHealth } from './upstream-health.js';
import { fetchVerifiedRelease } from './verify-release.js';

/**
 * HTTP client options for the pull path's metadata requests (pass to
 * RegistryClients): one attempt and tight timeouts, because a client is
 * waiting; UpstreamHealth decides when the upstream is asked again, not a
 * retry loop sleeping through Retry-After while the client's request hangs.
 */
export const PULL_METADATA_HTTP: Readonly<Pick<HttpClientOptions, 'maxAttempts' | 'connectTimeoutMs' | 'responseTimeoutMs'>> = {
  maxAttempts: 1,
  connectTimeoutMs: 5_000,
  responseTimeoutMs: 10_000,
};

export interface UpstreamMetadataOptions {
  /** The client for a configured upstream; throws UnknownUpstream for any other hostname. */
  registry(hostname: string): ProviderRegistry;
  /** The module registry client of an upstream (as RegistryClients.modules); absent: module lists are not asked for. */
  moduleRegistry?(hostname: string): ModuleUpstream;
  cache: UpstreamCacheRepository;
  metadataTtlMs: number;
  staleIfErrorMs: number;
  /** Configured upstream hostnames, so metrics list each one even before it is first asked. */
  hostnames?: readonly string[];
  health?: UpstreamHealth;
  now?: () => number;
  /** Background revalidations at once, over all upstreams (default 2). */
  revalidateConcurrency?: number;
  /** Bound on one shared upstream operation, all its requests included (default 30 s). */
  operationTimeoutMs?: number;
  /** How long an answer that is not an outage (absent, invalid, bad signature) is remembered (default 30 s, at most the ttl). */
  negativeTtlMs?: number;
  /** A background revalidation failed (the stale answer stays). */
  onBackgroundError?: (err: unknown, what: { hostname: string; kind: UpstreamCacheKind; key: string }) => void;
}

type FetchResult = 'ok' | 'not_found' | 'invalid' | 'failed' | 'backing_off';

/** Counters for metrics, per configured hostname. */
export interface UpstreamMetadataStats {
  upstreams: UpstreamHealthState[];
  /** Upstream operations by kind and result (one per shared fetch, not per caller). */
  fetches: Array<{ hostname: string; kind: UpstreamCacheKind; result: FetchResult; count: number }>;
  /** Answers served stale (past metadata_ttl, or the upstream failing). */
  stale: Array<{ hostname: string; count: number }>;
}

interface StoredVersions {
  versions: UpstreamVersion[];
  warnings: string[];
}

interface StoredModuleVersions {
  versions: string[];
}

/** upstream_cache kind of a module's versions list; its key is "namespace/name/system", lowercase. */
const MODULE_VERSIONS: UpstreamCacheKind = 'module-versions';

const MAX_NEGATIVE_ENTRIES = 10_000;
const MAX_MEMO_ENTRIES = 512;

export class CachedUpstreamMetadata implements UpstreamMetadata {
  private readonly o: UpstreamMetadataOptions;
  private readonly healthTracker: UpstreamHealth;
  private readonly now: () => number;
  private readonly inflight = new Map<string, Promise<{ value: unknown; fetchedAt: number }>>();
  private readonly negative = new Map<string, { err: Error; until: number }>();
  private readonly memo = new Map<string, { fetchedAt: number; value: unknown }>();
  private readonly revalidating = new Set<string>();
  private readonly background = new Set<Promise<void>>();
  private readonly slots: Semaphore;
  private readonly closing = new AbortController();
  private readonly fetchCounts = new Map<string, number>();
  private readonly staleCounts = new Map<string, number>();

  constructor(options: UpstreamMetadataOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.healthTracker = options.health ?? new UpstreamHealth({ now: this.now });
    this.slots = new Semaphore(options.revalidateConcurrency ?? 2);
  }

  async versions(id: ProviderIdentity, signal?: AbortSignal): Promise<Cached<UpstreamVersion[]>> {
    const c = await this.versionList(id, signal);
    return { value: c.value.versions, freshness: c.freshness, fetchedAt: c.fetchedAt };
  }

  /** The versions list with the registry's warnings (the registry pass-through re-serves them). */
  async versionList(id: ProviderIdentity, signal?: AbortSignal): Promise<Cached<StoredVersions>> {
    const p = normalize(id);
    const registry = this.o.registry(p.hostname);
    return this.cachedList(p.hostname, 'versions', `${p.namespace}/${p.type}`, decode, (key) => this.fetchVersions(registry, p, key), signal);
  }

  /** The version strings an upstream module registry lists for a module; NotFound when it has no such module. */
  async moduleVersions(address: ModuleAddress, signal?: AbortSignal): Promise<Cached<string[]>> {
    const hostname = address.hostname.toLowerCase();
    if (this.o.moduleRegistry === undefined) throw new NotFound(`modules of ${hostname} are not asked upstream`);
    const upstream = this.o.moduleRegistry(hostname);
    // Registry addresses are case-insensitive: one cache row however a client spells the module.
    const key = `${address.namespace}/${address.name}/${address.system}`.toLowerCase();
    const fetch = (k: string) =>
      this.shared(MODULE_VERSIONS, hostname, k, async (opSignal) => {
        const value: StoredModuleVersions = { versions: await upstream.listVersions(address, opSignal) };
        return { value, body: JSON.stringify(value), shasums: null, signature: null };
      });
    const c = await this.cachedList(hostname, MODULE_VERSIONS, key, decodeModuleVersions, fetch, signal);
    return { value: c.value.versions, freshness: c.freshness, fetchedAt: c.fetchedAt };
  }

  /**
   * A list through the cache: fresh within metadata_ttl; then answered stale
   * with one background revalidation, up to stale_if_error past the ttl;
   * beyond that (or never fetched) asked upstream while the caller waits.
   */
  private async cachedList<T>(
    hostname: string,
    kind: UpstreamCacheKind,
    key: string,
    parse: (row: UpstreamCacheEntry) => T,
    fetch: (key: string) => Promise<{ value: unknown; fetchedAt: number }>,
    signal: AbortSignal | undefined,
  ): Promise<Cached<T>> {
    const row = this.o.cache.get(hostname, kind, key);
    const age = row === undefined ? Infinity : this.now() - row.fetchedAt;
    if (row !== undefined && age < this.o.metadataTtlMs) return { value: this.decoded(row, parse), freshness: 'fresh', fetchedAt: row.fetchedAt };
    if (row !== undefined && age <= this.o.metadataTtlMs + this.o.staleIfErrorMs) {
      this.revalidate(hostname, kind, key, () => fetch(key));
      this.countStale(hostname);
      return { value: this.decoded(row, parse), freshness: 'stale', fetchedAt: row.fetchedAt };
    }
    this.throwRemembered(kind, hostname, key);
    const got = await untilAborted(fetch(key), signal);
    return { value: got.value as T, freshness: 'fresh', fetchedAt: got.fetchedAt };
  }

  async release(id: ProviderIdentity, version: string, signal?: AbortSignal): Promise<Cached<VerifiedRelease>> {
    const p = normalize(id);
    if (!isValidVersion(version)) throw new InvalidInput(`invalid version ${JSON.stringify(version.slice(0, 100))}`, { key: 'version' });
    const registry = this.o.registry(p.hostname);
    const key = `${p.namespace}/${p.type}/${version}`;
    const row = this.o.cache.get(p.hostname, 'release', key);
    if (row !== undefined) return { value: this.decoded(row, decodeRelease), freshness: 'fresh', fetchedAt: row.fetchedAt };
    this.throwRemembered('release', p.hostname, key);

    // The list says which platforms exist; it may be stale, so a version it lacks is asked about afresh.
    let list = await this.versionList(p, signal);
    let entry = list.value.versions.find((v) => v.version === version);
    if (entry === undefined && list.freshness === 'stale') {
      const got = await untilAborted(this.fetchVersions(registry, p, `${p.namespace}/${p.type}`), signal);
      list = { value: got.value as StoredVersions, freshness: 'fresh', fetchedAt: got.fetchedAt };
      entry = list.value.versions.find((v) => v.version === version);
    }
    if (entry === undefined) throw new NotFound(`version ${version} of ${p.hostname}/${p.namespace}/${p.type} not found upstream`);
    const platforms = entry.platforms;
    const got = await untilAborted(
      this.shared('release', p.hostname, key, async (opSignal) => {
        const value = await fetchVerifiedRelease(registry, p, version, platforms, opSignal);
        return { value, body: JSON.stringify(releaseBody(value)), shasums: value.shasums, signature: value.signature ?? null };
      }),
      signal,
    );
    return { value: got.value as VerifiedRelease, freshness: 'fresh', fetchedAt: got.fetchedAt };
  }

  health(hostname: string): UpstreamHealthState {
    return this.healthTracker.state(hostname.toLowerCase());
  }

  /**
   * Another request to an upstream under the same health (an archive
   * download's start, up to its response headers): refused at once with
   * UpstreamBackingOff while it is backing off, and its failure counts.
   */
  guarded<T>(hostname: string, send: () => Promise<T>): Promise<T> {
    return this.healthTracker.run(hostname.toLowerCase(), send);
  }

  stats(): UpstreamMetadataStats {
    const hosts = new Set([...(this.o.hostnames ?? [])].map((h) => h.toLowerCase()));
    const fetches: UpstreamMetadataStats['fetches'] = [];
    for (const [k, count] of this.fetchCounts) {
      const [hostname = '', kind, result] = k.split(' ') as [string, UpstreamCacheKind, FetchResult];
      hosts.add(hostname);
      fetches.push({ hostname, kind, result, count });
    }
    const stale = [...this.staleCounts].map(([hostname, count]) => ({ hostname, count }));
    return { upstreams: [...hosts].sort().map((h) => this.health(h)), fetches, stale };
  }

  /** Stops background revalidations and waits for them; in-flight foreground fetches are aborted. */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled([...this.background]);
  }

  /** Resolves when the background revalidations started so far have ended (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  private fetchVersions(registry: ProviderRegistry, p: ProviderIdentity, key: string) {
    return this.shared('versions', p.hostname, key, async (opSignal) => {
      const list = await registry.listVersions(p.namespace, p.type, opSignal);
      const value: StoredVersions = { versions: list.versions, warnings: list.warnings };
      return { value, body: JSON.stringify(value), shasums: null, signature: null };
    });
  }

  /**
   * One upstream operation per key for every caller: it carries no caller's
   * signal (one caller giving up must not fail the others), only a deadline
   * and close(). Its answer is cached before the callers get it.
   */
  private shared(
    kind: UpstreamCacheKind,
    hostname: string,
    key: string,
    op: (signal: AbortSignal) => Promise<{ value: unknown; body: string; shasums: Buffer | null; signature: Buffer | null }>,
  ): Promise<{ value: unknown; fetchedAt: number }> {
    const flightKey = `${kind} ${hostname} ${key}`;
    const running = this.inflight.get(flightKey);
    if (running !== undefined) return running;
    if (this.closing.signal.aborted) return Promise.reject(abortError(this.closing.signal));
    const timeoutMs = this.o.operationTimeoutMs ?? 30_000;
    const signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(timeoutMs)]);
    const bounded = async () => {
      try {
        return await op(signal);
      } catch (err) {
        // Our deadline, not close(): the upstream was too slow, which health must count.
        if (!signal.aborted || this.closing.signal.aborted) throw err;
        throw new UpstreamTimeout(`${hostname} did not answer for ${kind} ${key} within ${timeoutMs / 1000} s`, { url: `https://${hostname}/` }, { cause: err });
      }
    };
    const run = (async () => {
      try {
        const got = await this.healthTracker.run(hostname, bounded);
        const fetchedAt = this.now();
        this.count(hostname, kind, 'ok');
        const entry: UpstreamCacheEntry = { hostname, kind, key, body: got.body, shasums: got.shasums, signature: got.signature, fetchedAt };
        this.store(entry);
        return { value: got.value, fetchedAt };
      } catch (err) {
        this.count(hostname, kind, resultOf(err));
        if (isAnswer(err)) this.remember(kind, hostname, key, err as Error);
        throw err;
      } finally {
        this.inflight.delete(flightKey);
      }
    })();
    this.inflight.set(flightKey, run);
    return run;
  }

  /**
   * Writes an upstream answer. The callers are not kept waiting for another
   * process's write lock: a busy database is waited out in the background
   * (until then the next miss may ask the upstream again, which is harmless).
   */
  private store(entry: UpstreamCacheEntry): void {
    const report = (err: unknown) => this.o.onBackgroundError?.(err, { hostname: entry.hostname, kind: entry.kind, key: entry.key });
    try {
      this.o.cache.put(entry);
      this.memo.delete(`${entry.kind} ${entry.hostname} ${entry.key}`);
    } catch (err) {
      if (!isBusy(err)) return report(err);
      const task = whenNotBusy(() => this.o.cache.put(entry), { maxWaitMs: 60_000, signal: this.closing.signal })
        .catch((e: unknown) => {
          if (!this.closing.signal.aborted) report(e);
        })
        .finally(() => this.background.delete(task));
      this.background.add(task);
    }
  }

  /** A row's parsed value, reused while the row is unchanged (a big provider's list is hundreds of KB of JSON). */
  private decoded<T>(row: UpstreamCacheEntry, parse: (row: UpstreamCacheEntry) => T): T {
    const k = `${row.kind} ${row.hostname} ${row.key}`;
    const hit = this.memo.get(k);
    if (hit !== undefined && hit.fetchedAt === row.fetchedAt) return hit.value as T;
    const value = parse(row);
    if (this.memo.size >= MAX_MEMO_ENTRIES) this.memo.delete(this.memo.keys().next().value as string);
    this.memo.set(k, { fetchedAt: row.fetchedAt, value });
    return value;
  }

  /** At most one revalidation per key, a few at once overall; none while the upstream is backing off. */
  private revalidate(hostname: string, kind: UpstreamCacheKind, key: string, fetch: () => Promise<unknown>): void {
    const id = `${kind} ${hostname} ${key}`;
    if (this.revalidating.has(id) || this.closing.signal.aborted || this.healthTracker.isBackingOff(hostname)) return;
    this.revalidating.add(id);
    const task = (async () => {
      const release = await this.slots.acquire(this.closing.signal);
      try {
        await fetch();
      } finally {
        release();
      }
    })()
      .catch((err: unknown) => {
        if (!this.closing.signal.aborted) this.o.onBackgroundError?.(err, { hostname, kind, key });
      })
      .finally(() => {
        this.revalidating.delete(id);
        this.background.delete(task);
      });
    this.background.add(task);
  }

  private remember(kind: UpstreamCacheKind, hostname: string, key: string, err: Error): void {
    const ttl = Math.min(this.o.negativeTtlMs ?? 30_000, this.o.metadataTtlMs);
    if (ttl <= 0) return;
    if (this.negative.size >= MAX_NEGATIVE_ENTRIES) {
      const now = this.now();
      for (const [k, v] of this.negative) if (v.until <= now) this.negative.delete(k);
      // Still full of live entries: drop the oldest rather than grow without bound.
      if (this.negative.size >= MAX_NEGATIVE_ENTRIES) this.negative.delete(this.negative.keys().next().value as string);
    }
    this.negative.set(`${kind} ${hostname} ${key}`, { err, until: this.now() + ttl });
  }

  private throwRemembered(kind: UpstreamCacheKind, hostname: string, key: string): void {
    const k = `${kind} ${hostname} ${key}`;
    const hit = this.negative.get(k);
    if (hit === undefined) return;
    if (hit.until > this.now()) throw hit.err;
    this.negative.delete(k);
  }

  private count(hostname: string, kind: UpstreamCacheKind, result: FetchResult): void {
    const k = `${hostname} ${kind} ${result}`;
    this.fetchCounts.set(k, (this.fetchCounts.get(k) ?? 0) + 1);
  }

  private countStale(hostname: string): void {
    this.staleCounts.set(hostname, (this.staleCounts.get(hostname) ?? 0) + 1);
  }
}

/** Upstream answers that asking again right away would not change. */
function isAnswer(err: unknown): boolean {
  return err instanceof NotFound || err instanceof InvalidUpstreamResponse || err instanceof IntegrityError;
}

function resultOf(err: unknown): FetchResult {
  // With a cause it was the upstream's own 429/503 that started the backoff: a request was sent.
  if (err instanceof UpstreamBackingOff) return err.cause === undefined ? 'backing_off' : 'failed';
  if (err instanceof NotFound) return 'not_found';
  if (err instanceof InvalidUpstreamResponse || err instanceof IntegrityError) return 'invalid';
  return 'failed';
}

/** Registry addresses are case-insensitive: one cache row per provider however a client spells it. */
function normalize(id: ProviderIdentity): ProviderIdentity {
  return { hostname: id.hostname.toLowerCase(), namespace: id.namespace.toLowerCase(), type: id.type.toLowerCase() };
}

function decode(row: UpstreamCacheEntry): StoredVersions {
  return JSON.parse(row.body) as StoredVersions;
}

function decodeModuleVersions(row: UpstreamCacheEntry): StoredModuleVersions {
  return JSON.parse(row.body) as StoredModuleVersions;
}

/** A release row's JSON: everything but the SHA256SUMS and signature bytes, which have columns of their own. */
function releaseBody(r: VerifiedRelease): Omit<VerifiedRelease, 'shasums' | 'signature'> {
  return { version: r.version, protocols: r.protocols, signingKeys: r.signingKeys, keyIds: r.keyIds, signed: r.signed, archives: r.archives };
}

function decodeRelease(row: UpstreamCacheEntry): VerifiedRelease {
  const body = JSON.parse(row.body) as Omit<VerifiedRelease, 'shasums' | 'signature'>;
  return { ...body, shasums: row.shasums ?? Buffer.alloc(0), signature: row.signature ?? undefined };
}

