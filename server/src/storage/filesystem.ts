/**
 * ObjectStore on a local directory (or a mounted volume). Writes go to a temp
 * file under <root>/.tmp, which is fsynced and renamed into place: readers and
 * other processes (`tfmirror import` beside `serve`) see either the old object
 * or the complete new one, and a crash leaves at most a stray temp file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Conflict, IntegrityError, InvalidInput, NotFound, Unavailable } from '../errors.js';
import { ByteCounter, abortError, sizeMismatch } from './streaming.js';
import {
  checkRange,
  SEND_BUFFER,
  validateKey,
  validatePrefix,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStream,
  type PutOptions,
} from './store.js';

/** Lives inside the root so the final rename never crosses filesystems. */
const TMP_DIR = '.tmp';
/** Temp files older than this belong to a put that died; younger ones may be another process's live write. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** Names this host's temp files, so a sweep judges pids only of its own host (a volume may be shared). */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
/** Temp files this process is writing right now, across all its stores (see sweepIncomplete). */
const writing = new Set<string>();
/** ext4 creates this at a volume root (common for Kubernetes PVs); it is not ours and usually unreadable. */
const LOST_AND_FOUND = 'lost+found';

export class FilesystemStore implements ObjectStore {
  readonly kind = 'filesystem' as const;
  readonly root: string;
  private readonly tmpDir: string;
  private ready: Promise<void> | undefined;

  constructor(config: { path: string }) {
    if (!config.path) throw new InvalidInput('filesystem storage needs a path');
    this.root = path.resolve(config.path);
    this.tmpDir = path.join(this.root, TMP_DIR);
  }

  /** Creates the root and temp directory and sweeps stale temp files. Idempotent; put() calls it too. */
  init(): Promise<void> {
    this.ready ??= this.prepare().catch((err: unknown) => {
      this.ready = undefined; // let a later call retry, e.g. once a volume is mounted
      throw new Unavailable(`filesystem storage at ${this.root} cannot be prepared`, { cause: err });
    });
    return this.ready;
  }

  private async prepare(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    await this.sweepIncomplete();
  }

  /**
   * Removes temp files of puts that died: any older than an hour, and at once
   * those of a process of this host that no longer runs (names carry host tag
   * and pid), or of an earlier process with our pid (a restarted container).
   * Returns how many it removed.
   */
  async sweepIncomplete(now = Date.now()): Promise<number> {
    const cutoff = now - STALE_TEMP_MS;
    let removed = 0;
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      const file = path.join(this.tmpDir, name);
      const info = await stat(file).catch(() => null);
      if (!info?.isFile() || !(info.mtimeMs < cutoff || this.writerIsGone(name))) continue;
      await rm(file, { force: true });
      removed++;
    }
    return removed;
  }

  private writerIsGone(name: string): boolean {
    const m = /^([0-9a-f]{8})-(\d+)-/.exec(name);
    if (!m || m[1] !== HOST_TAG) return false;
    const pid = Number(m[2]);
    if (pid === process.pid) return !writing.has(name);
    return !pidRuns(pid);
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<ObjectInfo> {
    let published = false;
    const tmpName = `${HOST_TAG}-${process.pid}-${randomUUID()}.part`;
    const tmp = path.join(this.tmpDir, tmpName);
    writing.add(tmpName);
    try {
      const file = this.pathOf(key);
      await this.init();
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const written = await this.writeTemp(tmp, key, body, opts);
      const dir = path.dirname(file);
      const firstCreated = await mkdir(dir, { recursive: true });
      await rename(tmp, file);
      published = true;
      // The rename is only durable once the directory entry is; new parents need their own entries synced.
      await syncDirs(dir, firstCreated ? path.dirname(firstCreated) : dir);
      return { key, size: written.size, lastModified: written.mtime };
    } catch (err) {
      body.destroy(); // release whatever feeds the body (an upstream socket) when we stop early
      if (!published) await rm(tmp, { force: true }).catch(() => undefined);
      throw mapPutError(err, key);
    } finally {
      writing.delete(tmpName);
    }
  }

  /** Streams body into a fresh temp file and fsyncs it; returns what the disk holds. */
  private async writeTemp(tmp: string, key: string, body: Readable, opts: PutOptions) {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      const counter = new ByteCounter(key, opts.size);
      // Written through the handle directly, not fh.createWriteStream(): with autoClose off that
      // stream keeps a reference that makes fh.close() wait forever, and we need the handle for fsync.
      const sink = async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) await writeFully(fh, chunk);
      };
      await pipeline(body, counter, sink, opts.signal ? { signal: opts.signal } : {});
      await fh.sync();
      const info = await fh.stat();
      if (info.size !== counter.bytes) throw sizeMismatch(key, counter.bytes, info.size);
      return info;
    } finally {
      await fh.close();
    }
  }

  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<ObjectStream> {
    const file = this.pathOf(key);
    if (signal?.aborted) throw abortError(signal);
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      throw isMissing(err) ? notFound(key) : err;
    }
    try {
      // Size and content come from the same open file, so a concurrent replace cannot mix them.
      const info = await fh.stat();
      if (!info.isFile()) throw notFound(key);
      if (range) checkRange(key, range, info.size);
      const body = fh.createReadStream({ highWaterMark: SEND_BUFFER, ...(range ? { start: range.start, end: range.end } : {}) });
      if (signal) addAbortSignal(signal, body);
      const size = range ? range.end - range.start + 1 : info.size;
      return { body, size, totalSize: info.size, ...(range ? { range } : {}), lastModified: info.mtime };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const file = this.pathOf(key);
    try {
      const info = await stat(file);
      return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await unlink(file);
    } catch (err) {
      // A directory at the key holds no object under it, so there is nothing to delete either.
      if (isMissing(err) || codeOf(err) === 'EISDIR' || codeOf(err) === 'EPERM') return;
      throw err;
    }
    // Empty parent directories are left alone: removing them would race a concurrent put into them.
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const { dir } = validatePrefix(prefix);
    if (dir.split('/')[0] === TMP_DIR) return;
    yield* this.walk(dir, prefix);
  }

  /** Depth-first in byte order of full keys, matching S3's listing order. */
  private async *walk(dir: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir === '' ? this.root : path.join(this.root, ...dir.split('/')), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    // A directory sorts as "name/" so that "a-b" comes before everything under "a/", as in S3.
    const sorted = entries
      .filter((e) => !(dir === '' && (e.name === TMP_DIR || e.name === LOST_AND_FOUND)))
      .map((e) => ({ entry: e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const { entry } of sorted) {
      const key = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (!isValidKey(key)) continue; // foreign files that no key could name
      if (entry.isDirectory()) {
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.walk(key, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        const info = await stat(path.join(this.root, ...key.split('/'))).catch((err: unknown) => {
          if (isMissing(err)) return null; // deleted while we walked
          throw err;
        });
        if (info) yield { key, size: info.size, lastModified: info.mtime };
      }
    }
  }

  async presignGet(_key: string, _ttlSeconds: number, _opts?: { filename?: string }): Promise<string | null> {
    return null; // files are streamed by the server; there is nothing to sign
  }

  async check(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
    try {
      await access(this.root, constants.R_OK | constants.W_OK);
      await access(this.tmpDir, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new Unavailable(`filesystem storage at ${this.root} is not readable and writable`, { cause: err });
    }
  }

  /** The only place a key becomes a path: validated first, and never inside the temp area. */
  localPath(key: string): string {
    return this.pathOf(key);
  }

  private pathOf(key: string): string {
    validateKey(key);
    const segments = key.split('/');
    if (segments[0] === TMP_DIR) throw new InvalidInput(`object key ${JSON.stringify(key)} is reserved`);
    return path.join(this.root, ...segments);
  }
}

async function writeFully(fh: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length; ) {
    const { bytesWritten } = await fh.write(chunk, offset);
    offset += bytesWritten;
  }
}

/** fsyncs `from` and each ancestor up to and including `to` (which must be `from` or above it). */
async function syncDirs(from: string, to: string): Promise<void> {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (dir === to || path.dirname(dir) === dir) return;
  }
}

function mapPutError(err: unknown, key: string): unknown {
  if (err instanceof InvalidInput || err instanceof IntegrityError || err instanceof Unavailable) return err;
  const code = codeOf(err);
  // Filesystems cannot hold both "a" and "a/b"; S3 can. Canonical keys never do this, so it is a caller bug.
  if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') {
    return new Conflict(`object key ${JSON.stringify(key)} collides with an existing object or directory`, { cause: err });
  }
  if (code === 'ENOSPC' || code === 'EROFS' || code === 'EACCES' || code === 'EIO' || code === 'EDQUOT') {
    return new Unavailable(`filesystem storage cannot write ${JSON.stringify(key)}: ${code}`, { cause: err });
  }
  return err;
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return codeOf(err) === 'EPERM'; // runs, under another user
  }
}

function isValidKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}

function notFound(key: string): NotFound {
  return new NotFound(`object ${JSON.stringify(key)} not found`);
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function isMissing(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
