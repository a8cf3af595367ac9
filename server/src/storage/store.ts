/**
 * The object storage port. Declared here, by what the read and write paths
 * need; `filesystem.ts` and `s3.ts` are its two adapters. Keys are opaque,
 * canonical paths chosen by the domain; the database stores keys, never URLs.
 */
import type { Readable } from 'node:stream';
import { InvalidInput } from '../errors.js';

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

/** Inclusive on both ends, like an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ObjectStream {
  body: Readable;
  /** Bytes in body: the range length when a range was asked for. */
  size: number;
  /** Size of the whole object. */
  totalSize: number;
  range?: ByteRange;
  lastModified: Date;
}

export interface PutOptions {
  /** Expected byte count; a body of any other length fails with IntegrityError and publishes nothing. */
  size?: number;
  contentType?: string;
  signal?: AbortSignal;
}

export interface ObjectStore {
  readonly kind: 'filesystem' | 's3';
  /**
   * Streams body to key. All-or-nothing: on any error nothing is visible under
   * key (an earlier object stays). Resolves after the object is durable and
   * verified (size matches what was streamed; S3: HeadObject after upload).
   */
  put(key: string, body: Readable, opts?: PutOptions): Promise<ObjectInfo>;
  /** Rejects with NotFound when absent. Range is clamped/validated by the caller; an out-of-bounds range → InvalidInput. */
  get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<ObjectStream>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /**
   * Every object whose key starts with prefix (a plain string prefix, as in S3). Both adapters yield
   * in key order, but S3-compatible services may not (s3rver does not): do not depend on it.
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** A short-lived GET URL for the object, or null when the backend cannot presign (filesystem) or presigning is off. */
  presignGet(key: string, ttlSeconds: number, opts?: { filename?: string }): Promise<string | null>;
  /** Cheap reachability probe for /readyz; throws Unavailable. */
  check(signal?: AbortSignal): Promise<void>;
  /**
   * Removes what puts killed midway left behind, never visible as objects (filesystem: temp files).
   * Returns how many. Absent where the backend cleans up itself (S3: an incomplete multipart upload
   * is left to the bucket's AbortIncompleteMultipartUpload lifecycle rule).
   */
  sweepIncomplete?(): Promise<number>;
  /**
   * The file an object's bytes are in, for a process on this host to read
   * itself (a read-serving worker streaming an archive); absent where objects
   * are not local files (S3). Objects are immutable, so the path stays valid
   * until the object is deleted.
   */
  localPath?(key: string): string;
}

/** Large reads and writes: archives are tens to hundreds of MB, and the default 64 KiB costs syscalls. */
export const READ_BUFFER = 1024 * 1024;

/**
 * Reads streamed to a client socket. Each download holds about two of these
 * (one read, one in TLS), so this sets memory under many concurrent downloads:
 * eight concurrent 221 MB downloads over TLS ran as fast with 256 KiB as with
 * 1 MiB, and 32 concurrent ones peaked 100 MiB lower.
 */
export const SEND_BUFFER = 256 * 1024;

export const MAX_KEY_BYTES = 1024;
const SEGMENT = /^[A-Za-z0-9._+-]+$/;

/**
 * Rejects anything that is not a plain relative path of safe segments. Both
 * adapters call this before a key touches a file path or a request, so a key
 * can never escape the store root or smuggle in a second path meaning.
 */
export function validateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw invalidKey(key, 'is empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw invalidKey(key, `is longer than ${MAX_KEY_BYTES} bytes`);
  if (key.startsWith('/')) throw invalidKey(key, 'must be relative');
  for (const segment of key.split('/')) {
    if (segment === '') throw invalidKey(key, 'has an empty segment');
    if (segment === '.' || segment === '..') throw invalidKey(key, `has a "${segment}" segment`);
    if (!SEGMENT.test(segment)) throw invalidKey(key, 'may only contain A-Z a-z 0-9 . _ + - and /');
  }
}

/**
 * A list prefix is a key cut anywhere: "" or complete segments, optionally
 * followed by a slash or a partial last segment. Returns the complete
 * directory part ("" at the top) so the filesystem adapter walks only that.
 */
export function validatePrefix(prefix: string): { dir: string } {
  if (prefix === '') return { dir: '' };
  if (Buffer.byteLength(prefix, 'utf8') > MAX_KEY_BYTES) throw invalidKey(prefix, `is longer than ${MAX_KEY_BYTES} bytes`);
  const cut = prefix.lastIndexOf('/');
  const dir = cut < 0 ? '' : prefix.slice(0, cut);
  const partial = prefix.slice(cut + 1);
  if (prefix.startsWith('/')) throw invalidKey(prefix, 'must be relative');
  if (dir !== '') validateKey(dir);
  if (partial !== '' && !SEGMENT.test(partial)) {
    throw invalidKey(prefix, 'may only contain A-Z a-z 0-9 . _ + - and /');
  }
  return { dir };
}

function invalidKey(key: unknown, why: string): InvalidInput {
  const shown = typeof key === 'string' ? JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key) : String(key);
  return new InvalidInput(`object key ${shown} ${why}`);
}

/** Checks a requested range against the object size; both adapters share the wording. */
export function checkRange(key: string, range: ByteRange, totalSize: number): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= totalSize) {
    throw new InvalidInput(`range ${start}-${end} is outside object ${JSON.stringify(key)} of ${totalSize} bytes`);
  }
}
