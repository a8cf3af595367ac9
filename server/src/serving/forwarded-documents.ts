import { LRUCache } from 'lru-cache';
import type { ProviderIdentity } from '../db/providers.js';
import type { Document } from '../mirror/service.js';

export type DocumentPath = { kind: 'index'; provider: ProviderIdentity } | { kind: 'version'; provider: ProviderIdentity; version: string };

/**
 * A read-serving worker's copy of the documents the writing process answered
 * it with, so the next request for one is answered here (warm-path.ts) without
 * crossing to the writer. The writer knows when a document changes: it says
 * so (invalidate) on every write it makes or sees, and a document is kept at
 * most `ttlMs` in any case, so one the writer only keeps for a while (built
 * from an upstream's answer) is never older here than there by more than that.
 */
export class ForwardedDocuments {
  private readonly cache: LRUCache<string, Document>;
  /** Bumped by invalidate(): an answer that crossed an invalidation is not kept. */
  generation = 0;
  hits = 0;

  constructor(opts: { maxEntries: number; ttlMs: number }) {
    this.cache = new LRUCache({ max: opts.maxEntries, ttl: opts.ttlMs });
  }

  peekDocument(path: DocumentPath): Document | undefined {
    const doc = this.cache.get(keyOf(path));
    if (doc !== undefined) this.hits++;
    return doc;
  }

  /** Keeps what the writer answered, unless an invalidation came in since the request was sent (`generation` then). */
  remember(path: DocumentPath, doc: Document, generation: number): void {
    if (generation === this.generation) this.cache.set(keyOf(path), doc);
  }

  invalidate(): void {
    this.generation++;
    this.cache.clear();
  }

  get size(): number {
    return this.cache.size;
  }
}

function keyOf(path: DocumentPath): string {
  const { hostname, namespace, type } = path.provider;
  return path.kind === 'index' ? `i|${hostname}/${namespace}/${type}` : `v|${hostname}/${namespace}/${type}|${path.version}`;
}
