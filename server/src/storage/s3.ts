/**
 * ObjectStore on S3 or an S3-compatible service (MinIO, Ceph). Bodies are
 * streamed in bounded parts, never buffered whole; an object only appears
 * when PutObject or CompleteMultipartUpload succeeds, which gives put() its
 * all-or-nothing behaviour for free.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
  paginateListObjectsV2,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable, addAbortSignal, pipeline } from 'node:stream';
import type { S3StorageConfig } from '../config/types.js';
import { DomainError, InvalidInput, NotFound, Unavailable } from '../errors.js';
import { ByteCounter, abortError, sizeMismatch } from './streaming.js';
import {
  checkRange,
  validateKey,
  validatePrefix,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStream,
  type PutOptions,
} from './store.js';

const MiB = 1024 * 1024;
/** Memory per put is bounded by PART_SIZE * QUEUE_SIZE (plus one part being assembled). */
const PART_SIZE = 8 * MiB;
const QUEUE_SIZE = 4;
const CONNECT_TIMEOUT_MS = 5_000;
/** Until response headers; an 8 MiB part on a slow link must still fit. */
const REQUEST_TIMEOUT_MS = 120_000;
/** A stalled transfer (either direction) fails instead of holding a job or a client forever. */
const SOCKET_IDLE_MS = 30_000;
const CHECK_TIMEOUT_MS = 5_000;
/** SigV4 presigned URLs cannot outlive seven days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export class S3Store implements ObjectStore {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly keyPrefix: string;

  constructor(
    private readonly config: S3StorageConfig,
    opts: { client?: S3Client } = {},
  ) {
    if (!config.bucket) throw new InvalidInput('s3 storage needs a bucket', { key: 'storage.bucket' });
    if (Boolean(config.accessKeyId) !== Boolean(config.secretAccessKey)) {
      throw new InvalidInput('set both storage.access_key_id and storage.secret_access_key, or neither', {
        key: 'storage.access_key_id',
      });
    }
    this.bucket = config.bucket;
    const prefix = config.prefix.replace(/^\/+|\/+$/g, '');
    this.keyPrefix = prefix === '' ? '' : `${prefix}/`;
    this.client = opts.client ?? new S3Client(clientConfig(config));
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<ObjectInfo> {
    let objectKey: string;
    try {
      objectKey = this.objectKey(key);
    } catch (err) {
      body.destroy(); // we own the body once called, as with every other failure
      throw err;
    }
    const counter = new ByteCounter(key, opts.size);
    // The counter fails the stream on a size mismatch or a body error before Upload sees its end,
    // so the last part (or the single PutObject) is never sent and nothing is published.
    pipeline(body, counter, () => undefined);
    // Aborting by failing the stream, not via Upload's abortController: that rejects done() at once
    // while an in-flight PutObject may still land, which would publish an object we reported as failed.
    const onAbort = () => counter.destroy(abortError(opts.signal));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const upload = new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: objectKey,
          Body: counter,
          ...(opts.contentType ? { ContentType: opts.contentType } : {}),
        },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false, // failed multipart uploads are aborted, not left billing
      });
      await upload.done();
    } catch (err) {
      // The body's own failure (or the size check) is the real cause; Upload may report a later one,
      // e.g. when AbortMultipartUpload fails after it.
      const cause = counter.errored ?? err;
      counter.destroy();
      body.destroy();
      throw mapError(cause, 'put', key);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    // Some S3-compatible services store a request's transfer encoding instead of its payload;
    // the stored size is the cheapest proof that the bytes we counted are the bytes kept.
    const stored = await this.head(key);
    if (!stored || stored.size !== counter.bytes) {
      // Not what we sent: a store that keeps the transfer encoding, or one whose overwrites are not
      // atomic and was caught mid-write by a concurrent put of the same key (s3rver). Both pass, so the
      // caller may retry; the object we may have made is removed only if it is really of another size.
      if (stored) await this.delete(key).catch(() => undefined);
      throw new Unavailable(`s3 put ${JSON.stringify(key)}: stored object does not match the upload`, {
        cause: sizeMismatch(key, counter.bytes, stored ? stored.size : 'no object'),
      });
    }
    return stored;
  }

  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<ObjectStream> {
    const objectKey = this.objectKey(key);
    if (range) checkRange(key, range, Number.MAX_SAFE_INTEGER); // shape only; the size is known after the request
    let out;
    try {
      out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (err) {
      if (statusOf(err) === 416 || nameOf(err) === 'InvalidRange') {
        throw new InvalidInput(`range ${range?.start}-${range?.end} is outside object ${JSON.stringify(key)}`);
      }
      throw mapError(err, 'get', key);
    }
    if (!(out.Body instanceof Readable)) throw new Unavailable(`s3 get ${key}: response has no body stream`);
    const body: Readable = out.Body;
    const lastModified = out.LastModified ?? new Date(0);
    if (!range) {
      const size = out.ContentLength ?? 0;
      if (signal) addAbortSignal(signal, body);
      return { body, size, totalSize: size, lastModified };
    }
    // S3 clamps an end past the object instead of refusing it; the caller asked for exact bytes.
    const answered = parseContentRange(out.ContentRange);
    if (!answered || answered.start !== range.start || answered.end > range.end) {
      body.destroy();
      throw new Unavailable(`s3 get ${key}: asked for bytes ${range.start}-${range.end}, got ${out.ContentRange ?? 'the whole object'}`);
    }
    if (answered.end < range.end) {
      body.destroy();
      checkRange(key, range, answered.total); // throws InvalidInput with the real size
    }
    if (signal) addAbortSignal(signal, body);
    return { body, size: range.end - range.start + 1, totalSize: answered.total, range, lastModified };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const objectKey = this.objectKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
    } catch (err) {
      const mapped = mapError(err, 'head', key);
      if (mapped instanceof NotFound) return null;
      throw mapped;
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (err) {
      const mapped = mapError(err, 'delete', key);
      if (!(mapped instanceof NotFound)) throw mapped;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: this.keyPrefix + prefix });
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          if (!object.Key?.startsWith(this.keyPrefix)) continue;
          yield {
            key: object.Key.slice(this.keyPrefix.length),
            size: object.Size ?? 0,
            lastModified: object.LastModified ?? new Date(0),
          };
        }
      }
    } catch (err) {
      throw mapError(err, 'list', prefix);
    }
  }

  async presignGet(key: string, ttlSeconds: number, opts: { filename?: string } = {}): Promise<string | null> {
    if (!this.config.presignDownloads) return null;
    const objectKey = this.objectKey(key);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_PRESIGN_SECONDS) {
      throw new InvalidInput(`presign lifetime must be 1..${MAX_PRESIGN_SECONDS} seconds, got ${ttlSeconds}`);
    }
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: objectKey,
      ...(opts.filename ? { ResponseContentDisposition: contentDisposition(opts.filename) } : {}),
    });
    return getSignedUrl(this.client, command, { expiresIn: ttlSeconds });
  }

  async check(signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(CHECK_TIMEOUT_MS);
    const abortSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal });
    } catch (err) {
      throw new Unavailable(`s3 bucket ${this.bucket} is not reachable: ${describe(err)}`, { cause: err });
    }
  }

  private objectKey(key: string): string {
    validateKey(key);
    return this.keyPrefix + key;
  }
}

function clientConfig(config: S3StorageConfig): S3ClientConfig {
  return {
    // S3-compatible services usually ignore the region, but the SDK refuses to sign without one.
    region: config.region || 'us-east-1',
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    // Without static keys the SDK's default chain applies: env, shared config, IRSA, instance roles.
    ...(config.accessKeyId && config.secretAccessKey
      ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }
      : {}),
    // Options for the SDK's own NodeHttpHandler; passing them (not an instance) avoids importing a transitive package.
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
      socketTimeout: SOCKET_IDLE_MS,
    },
  };
}

/** `attachment` with an ASCII filename, plus RFC 6266 filename* when the name needed changes. */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^A-Za-z0-9._+-]/g, '_');
  if (ascii === filename) return `attachment; filename="${filename}"`;
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

function parseContentRange(header: string | undefined): { start: number; end: number; total: number } | null {
  const m = header ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim()) : null;
  return m ? { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) } : null;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);

/** Translates SDK failures into the domain's errors; anything unrecognised passes through unchanged. */
function mapError(err: unknown, op: string, key: string): unknown {
  if (err instanceof DomainError || nameOf(err) === 'AbortError') return err;
  const status = statusOf(err);
  const name = nameOf(err);
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') {
    return new NotFound(`object ${JSON.stringify(key)} not found`);
  }
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  // Server faults, timeouts, refused credentials and broken connections all mean the same to a caller:
  // storage cannot serve this now, and it is not the client's fault.
  if ((status !== undefined && (status >= 500 || status === 401 || status === 403)) || name === 'TimeoutError' || NETWORK_CODES.has(code)) {
    return new Unavailable(`s3 ${op} ${JSON.stringify(key)} failed: ${describe(err)}`, { cause: err });
  }
  return err;
}

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('$metadata' in err)) return undefined;
  const meta = err.$metadata as { httpStatusCode?: number } | undefined;
  return meta?.httpStatusCode;
}

function nameOf(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const status = statusOf(err);
  return `${err.name}${status ? ` (HTTP ${status})` : ''}: ${err.message}`;
}

