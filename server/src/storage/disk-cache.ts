/**
 * The second tier of the read path's cache: a bounded local-disk copy of
 * archives read from object storage, for S3 with presigning off (every
 * download would otherwise be a GET to the bucket). The first tier, the
 * in-memory LRU of documents, lives in MirrorService.
 *
 * A decorator of the ObjectStore port rather than a change to the S3
 * adapter: every delete made through it (admin deletes, purges, the orphan
 * sweep, ingest clean-up) invalidates the cached copy without its callers
 * knowing a cache exists. Plain get() stays uncached; only getArchive(),
 * which carries the digest recorded for the archive, reads through the disk.
 *
 * Choices:
 * - Files are named <sha256(key)>.<sha256(content)>, flat in one directory, so
 *   the index is rebuilt at start from file names and sizes alone (no sidecar
 *   to get out of step), and a key re-stored with other bytes never matches.
 * - One fill per key (single-flight); callers arriving during it wait for it
 *   and then read the verified file. Streaming them from S3 meanwhile would cost
 *   one GET per caller, which is what the cache is there to avoid.
 * - A fill is written to a temp file, hashed on the way, fsynced and renamed:
 *   a file under its final name is always complete and matched the recorded
 *   sha256. Temp files of a killed process are removed at start.
 * - After the fill the disk is trusted (a hit is not re-hashed) unless a ttl
 *   is set: then a hit older than ttl checks that the object still exists in
 *   the store and re-hashes the local file before serving it; a corrupt copy is
 *   dropped and filled again. When the store cannot answer that check, the
 *   verified copy is served (the store being down is what the cache is for).
 * - LRU by last access, kept as Map insertion order. Eviction unlinks files
 *   that may be open for reading: on Linux (and every POSIX system) an open
 *   descriptor keeps reading the unlinked inode, so a download in flight
 *   finishes; the space is freed when it closes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import type { CacheConfig, StorageConfig } from '../config/types.js';
import { IntegrityError } from '../errors.js';
import { hashFile, writeVerified } from './disk-cache-files.js';
import { untilAborted } from './streaming.js';
import {
  checkRange,
  SEND_BUFFER,
  validateKey,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStream,
  type PutOptions,
} from './store.js';

/** What the caller knows the archive must be: its recorded digest and size. */
export interface ArchiveExpectation {
  sha256: string;
  size: number;
}

export interface DiskCacheOptions {
  dir: string;
  /** Bytes on disk the cache may hold (temp files of running fills included). */
  maxBytes: number;
  /** Seconds a cached archive is served before it is checked again; 0: until evicted or invalidated. */
  ttlSeconds: number;
  now?: () => number;
  /** A fill whose bytes did not match the recorded digest, or a cached file found corrupt. */
  onIntegrityFailure?: (key: string, err: IntegrityError) => void;
}

export interface DiskCacheStats {
  hits: number;
  misses: number;
  /** Fills completed (one S3 GET each). */
  fills: number;
  fillBytes: number;
  /** Callers that waited for a fill another caller started. */
  joined: number;
  evictions: number;
  invalidations: number;
  /** Fills refused because the bytes did not match the recorded sha256, and cached files found corrupt on re-check. */
  integrityFailures: number;
  /** Archives streamed from the store without the cache (larger than the cache, or no room beside running fills). */
  bypassed: number;
  /** Hits served although the ttl re-check could not reach the store. */
  staleServed: number;
  bytes: number;
  entries: number;
  maxBytes: number;
}

interface Entry {
  keyHash: string;
  sha256: string;
  size: number;
  file: string;
  lastModified: Date;
  /** ms; 0 for entries found at start, so a ttl re-checks them on first use. */
  checkedAt: number;
  /** ms the file's mtime was last moved to record an access (kept coarse: it only orders eviction after a restart). */
  touchedAt: number;
  recheck?: Promise<Entry | undefined>;
}

const FINAL_NAME = /^([0-9a-f]{64})\.([0-9a-f]{64})$/;
const TEMP_PREFIX = '.fill-';
const TOUCH_EVERY_MS = 60_000;

export class CachedArchiveStore implements ObjectStore {
  readonly kind: ObjectStore['kind'];
  /** Least recently used first. */
  private readonly entries = new Map<string, Entry>();
  private readonly fills = new Map<string, { sha256: string; done: Promise<Entry | undefined> }>();
  /** Unlinks still running, by file: a fill must not rename onto a name whose old file is about to be removed. */
  private readonly removing = new Map<string, Promise<void>>();
  private totalBytes = 0;
  private reservedBytes = 0;
  private readonly now: () => number;
  private readonly counts = { hits: 0, misses: 0, fills: 0, fillBytes: 0, joined: 0, evictions: 0, invalidations: 0, integrityFailures: 0, bypassed: 0, staleServed: 0 };

  constructor(
    readonly inner: ObjectStore,
    private readonly opts: DiskCacheOptions,
  ) {
    this.kind = inner.kind;
    this.now = opts.now ?? Date.now;
  }

  /** Creates the directory, removes temp files a killed process left and rebuilds the index from what is there. */
  async init(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    const found: Entry[] = [];
    for (const name of await readdir(this.opts.dir)) {
      const file = path.join(this.opts.dir, name);
      if (name.startsWith(TEMP_PREFIX) && name.endsWith('.tmp')) {
        await rm(file, { force: true });
        continue;
      }
      // Anything not named by the cache is left alone: disk_path may point at a directory that holds more.
      const m = FINAL_NAME.exec(name);
      const info = m ? await stat(file).catch(() => undefined) : undefined;
      if (!m || !info?.isFile()) continue;
      found.push({ keyHash: m[1]!, sha256: m[2]!, size: info.size, file, lastModified: info.mtime, checkedAt: 0, touchedAt: info.mtimeMs });
    }
    found.sort((a, b) => a.touchedAt - b.touchedAt);
    for (const e of found) {
      const older = this.entries.get(e.keyHash);
      if (older) this.drop(older, 'evictions');
      this.entries.set(e.keyHash, e);
      this.totalBytes += e.size;
    }
    this.makeRoom(0);
  }

  stats(): DiskCacheStats {
    return { ...this.counts, bytes: this.totalBytes, entries: this.entries.size, maxBytes: this.opts.maxBytes };
  }

  /**
   * An archive, from the disk when a verified copy is there, else filled once
   * from the store for every concurrent caller. Range is served from the file.
   */
  async getArchive(key: string, expect: ArchiveExpectation, range?: ByteRange, signal?: AbortSignal): Promise<ObjectStream> {
    validateKey(key);
    if (range) checkRange(key, range, expect.size);
    if (expect.size > this.opts.maxBytes) {
      this.counts.bypassed++;
      return this.inner.get(key, range, signal);
    }
    const keyHash = hashOf(key);
    let entry = this.lookup(keyHash, expect);
    if (entry && this.opts.ttlSeconds > 0 && this.now() - entry.checkedAt > this.opts.ttlSeconds * 1000) {
      entry = await untilAborted(this.recheck(key, entry), signal);
    }
    if (entry) {
      const hit = await this.openEntry(entry, range, signal);
      if (hit) {
        this.counts.hits++;
        return hit;
      }
    }
    this.counts.misses++;
    let filled: Entry | undefined;
    try {
      filled = await untilAborted(this.fill(key, keyHash, expect), signal);
    } catch (err) {
      // The store's bytes are not what was recorded: nothing is cached and the answer is the store's, as without a cache.
      if (!(err instanceof IntegrityError)) throw err;
    }
    const fromDisk = filled && (await this.openEntry(filled, range, signal));
    if (fromDisk) return fromDisk;
    this.counts.bypassed++;
    return this.inner.get(key, range, signal);
  }

  /** Forgets and removes the cached copy of key, if any. */
  invalidate(key: string): void {
    const entry = this.entries.get(hashOf(key));
    if (entry) this.drop(entry, 'invalidations');
  }

  async put(key: string, body: Readable, opts?: PutOptions): Promise<ObjectInfo> {
    try {
      return await this.inner.put(key, body, opts);
    } finally {
      this.invalidate(key);
    }
  }

  get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<ObjectStream> {
    return this.inner.get(key, range, signal);
  }

  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }

  async delete(key: string): Promise<void> {
    // Before and after: a fill racing the delete must not leave a copy of an object that is gone.
    this.invalidate(key);
    await this.inner.delete(key);
    this.invalidate(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  presignGet(key: string, ttlSeconds: number, opts?: { filename?: string }): Promise<string | null> {
    return this.inner.presignGet(key, ttlSeconds, opts);
  }

  check(signal?: AbortSignal): Promise<void> {
    return this.inner.check(signal);
  }

  async sweepIncomplete(): Promise<number> {
    return (await this.inner.sweepIncomplete?.()) ?? 0;
  }

  private lookup(keyHash: string, expect: ArchiveExpectation): Entry | undefined {
    const entry = this.entries.get(keyHash);
    if (!entry) return undefined;
    if (entry.sha256 !== expect.sha256.toLowerCase() || entry.size !== expect.size) {
      // The key now names other bytes (re-stored): the old copy is of no use.
      this.drop(entry, 'invalidations');
      return undefined;
    }
    return entry;
  }

  private async openEntry(entry: Entry, range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<ObjectStream | undefined> {
    let handle;
    try {
      handle = await open(entry.file, 'r');
    } catch {
      // Evicted or removed between lookup and open: a miss.
      if (this.entries.get(entry.keyHash) === entry) this.drop(entry, 'invalidations');
      return undefined;
    }
    if (this.entries.get(entry.keyHash) === entry) {
      this.entries.delete(entry.keyHash);
      this.entries.set(entry.keyHash, entry);
    }
    this.touch(entry);
    // The stream owns the handle (autoClose): an unlink from here on leaves this read intact.
    const body = handle.createReadStream({ highWaterMark: SEND_BUFFER, ...(range ? { start: range.start, end: range.end } : {}) });
    if (signal) addAbortSignal(signal, body);
    const size = range ? range.end - range.start + 1 : entry.size;
    return { body, size, totalSize: entry.size, ...(range ? { range } : {}), lastModified: entry.lastModified };
  }

  private touch(entry: Entry): void {
    const now = this.now();
    if (now - entry.touchedAt < TOUCH_EVERY_MS) return;
    entry.touchedAt = now;
    const at = new Date(now);
    void utimes(entry.file, at, at).catch(() => undefined);
  }

  private fill(key: string, keyHash: string, expect: ArchiveExpectation): Promise<Entry | undefined> {
    const sha256 = expect.sha256.toLowerCase();
    const running = this.fills.get(keyHash);
    if (running && running.sha256 === sha256) {
      this.counts.joined++;
      return running.done;
    }
    const done = this.runFill(key, keyHash, { sha256, size: expect.size }).finally(() => {
      if (this.fills.get(keyHash)?.done === done) this.fills.delete(keyHash);
    });
    this.fills.set(keyHash, { sha256, done });
    return done;
  }

  /** Resolves undefined when there is no room beside running fills (the caller then streams from the store). */
  private async runFill(key: string, keyHash: string, expect: ArchiveExpectation): Promise<Entry | undefined> {
    if (!this.makeRoom(expect.size)) return undefined;
    this.reservedBytes += expect.size;
    const temp = path.join(this.opts.dir, `${TEMP_PREFIX}${randomUUID()}.tmp`);
    try {
      // Not tied to any one caller's signal: the fill serves every waiter, and the next download if they all left.
      const object = await this.inner.get(key);
      const bytes = await writeVerified(object.body, temp, key, expect);
      const file = path.join(this.opts.dir, `${keyHash}.${expect.sha256}`);
      await this.removing.get(file);
      await rename(temp, file);
      const older = this.entries.get(keyHash);
      if (older && older.file !== file) this.drop(older, 'invalidations');
      else if (older) this.forget(older);
      const now = this.now();
      const entry: Entry = { keyHash, sha256: expect.sha256, size: bytes, file, lastModified: new Date(now), checkedAt: now, touchedAt: now };
      this.entries.set(keyHash, entry);
      this.totalBytes += bytes;
      this.counts.fills++;
      this.counts.fillBytes += bytes;
      return entry;
    } catch (err) {
      await rm(temp, { force: true });
      if (err instanceof IntegrityError) {
        this.counts.integrityFailures++;
        this.opts.onIntegrityFailure?.(key, err);
      }
      throw err;
    } finally {
      this.reservedBytes -= expect.size;
    }
  }

  /** The ttl check: the object still exists in the store and the local copy still has its digest. */
  private recheck(key: string, entry: Entry): Promise<Entry | undefined> {
    entry.recheck ??= this.runRecheck(key, entry).finally(() => {
      entry.recheck = undefined;
    });
    return entry.recheck;
  }

  private async runRecheck(key: string, entry: Entry): Promise<Entry | undefined> {
    let info: ObjectInfo | null;
    try {
      info = await this.inner.head(key);
    } catch {
      this.counts.staleServed++;
      return entry;
    }
    if (!info || info.size !== entry.size) {
      this.drop(entry, 'invalidations');
      return undefined;
    }
    const digest = await hashFile(entry.file).catch(() => undefined);
    if (digest !== entry.sha256) {
      const err = new IntegrityError(`cached copy of ${JSON.stringify(key)} no longer has sha256 ${entry.sha256}`);
      this.counts.integrityFailures++;
      this.opts.onIntegrityFailure?.(key, err);
      this.drop(entry, 'invalidations');
      return undefined;
    }
    entry.checkedAt = this.now();
    return entry;
  }

  /** Evicts least recently used entries until `incoming` more bytes fit; false when they cannot (running fills hold the room). */
  private makeRoom(incoming: number): boolean {
    for (const entry of this.entries.values()) {
      if (this.totalBytes + this.reservedBytes + incoming <= this.opts.maxBytes) break;
      this.drop(entry, 'evictions');
    }
    return this.totalBytes + this.reservedBytes + incoming <= this.opts.maxBytes;
  }

  private drop(entry: Entry, why: 'evictions' | 'invalidations'): void {
    this.forget(entry);
    this.counts[why]++;
    const removed = rm(entry.file, { force: true })
      .catch(() => undefined)
      .finally(() => {
        if (this.removing.get(entry.file) === removed) this.removing.delete(entry.file);
      });
    this.removing.set(entry.file, removed);
  }

  private forget(entry: Entry): void {
    if (this.entries.get(entry.keyHash) !== entry) return;
    this.entries.delete(entry.keyHash);
    this.totalBytes -= entry.size;
  }
}

/**
 * Reads a stored archive: through the disk cache when the store has one, else
 * straight from the store. The one call the read path makes for archive bytes.
 */
export function readArchive(store: ObjectStore, key: string, expect: ArchiveExpectation, range?: ByteRange, signal?: AbortSignal): Promise<ObjectStream> {
  return store instanceof CachedArchiveStore ? store.getArchive(key, expect, range, signal) : store.get(key, range, signal);
}

function hashOf(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * The disk cache the configuration asks for, initialised, or undefined when it
 * is not in the read path: the filesystem store is already local, presigned
 * downloads go to S3 directly, and disk_max_size = 0 turns it off.
 */
export async function createArchiveCache(
  store: ObjectStore,
  config: { storage: StorageConfig; cache: CacheConfig },
  onIntegrityFailure?: DiskCacheOptions['onIntegrityFailure'],
): Promise<CachedArchiveStore | undefined> {
  const { storage, cache } = config;
  if (storage.type !== 's3' || storage.presignDownloads || cache.diskMaxSize === 0) return undefined;
  const cached = new CachedArchiveStore(store, {
    dir: cache.diskPath,
    maxBytes: cache.diskMaxSize,
    ttlSeconds: cache.ttl,
    ...(onIntegrityFailure ? { onIntegrityFailure } : {}),
  });
  await cached.init();
  return cached;
}
