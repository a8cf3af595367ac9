import { Readable } from 'node:stream';
import type { ObjectStore } from '../storage/store.js';

/** Writes of one version file in this process, chained so that two platforms of a version never write it at once. */
const writing = new Map<string, Promise<void>>();

/**
 * Stores a file kept once per version (SHA256SUMS, its signature, the signing
 * keys) unless the store already holds exactly these bytes. Every platform of
 * a version brings the same files, and rewriting them is not harmless: once a
 * version is published they are what its rows name, and on a store whose
 * overwrite is not atomic (s3rver, some S3-compatible gateways) a writer
 * killed mid-rewrite leaves them truncated, and a reader during a rewrite sees
 * a partial object.
 */
export function storeVersionFile(
  store: ObjectStore,
  key: string,
  bytes: Buffer,
  opts: { contentType?: string; signal?: AbortSignal } = {},
): Promise<void> {
  const previous = writing.get(key) ?? Promise.resolve();
  const mine = previous.catch(() => undefined).then(() => putUnlessSame(store, key, bytes, opts));
  writing.set(key, mine);
  void mine.catch(() => undefined).finally(() => {
    if (writing.get(key) === mine) writing.delete(key);
  });
  return mine;
}

async function putUnlessSame(store: ObjectStore, key: string, bytes: Buffer, opts: { contentType?: string; signal?: AbortSignal }): Promise<void> {
  opts.signal?.throwIfAborted();
  if ((await readIfSize(store, key, bytes.length, opts.signal))?.equals(bytes)) return;
  await store.put(key, Readable.from([bytes]), { size: bytes.length, signal: opts.signal, ...(opts.contentType ? { contentType: opts.contentType } : {}) });
}

/** The object's bytes when it has exactly `size` of them (these files are a few KB), else null. */
async function readIfSize(store: ObjectStore, key: string, size: number, signal?: AbortSignal): Promise<Buffer | null> {
  const head = await store.head(key);
  if (!head || head.size !== size) return null;
  const { body } = await store.get(key, undefined, signal).catch(() => ({ body: null }));
  if (!body) return null;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > size) {
      body.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
