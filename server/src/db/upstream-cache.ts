import type { Database } from './database.js';

/** 'module-versions': a module's versions list (key namespace/name/system), since migration 13. */
export type UpstreamCacheKind = 'versions' | 'release' | 'module-versions';

/** One cached upstream answer: a provider's versions list, or a version's verified release. */
export interface UpstreamCacheEntry {
  hostname: string;
  kind: UpstreamCacheKind;
  /** "namespace/type" for versions, "namespace/type/version" for a release, "namespace/name/system" for module-versions; lowercase. */
  key: string;
  /** The parsed answer as JSON text (the caller's shape). */
  body: string;
  /** A release's SHA256SUMS and signature, the exact bytes the upstream served. */
  shasums: Buffer | null;
  signature: Buffer | null;
  /** When the upstream last answered this (ms since epoch, the caller's clock). */
  fetchedAt: number;
}

interface Row {
  hostname: string;
  kind: UpstreamCacheKind;
  key: string;
  body: string;
  shasums: Buffer | null;
  signature: Buffer | null;
  fetched_at: number;
}

/**
 * What upstream registries last said, for pull-through: read on every miss,
 * written after every upstream answer. Kept in SQLite rather than in memory so
 * a restart (or another process on the same database) serves from it while
 * the upstream is unreachable. Writers wrap put() in whenNotBusy().
 */
export class UpstreamCacheRepository {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      get: db.prepare<[string, string, string], Row>(
        `SELECT hostname, kind, key, body, shasums, signature, fetched_at FROM upstream_cache WHERE hostname = ? AND kind = ? AND key = ?`,
      ),
      // An older answer never overwrites a newer one (two processes revalidating the same key).
      put: db.prepare<Row>(
        `INSERT INTO upstream_cache (hostname, kind, key, body, shasums, signature, fetched_at)
         VALUES (@hostname, @kind, @key, @body, @shasums, @signature, @fetched_at)
         ON CONFLICT (hostname, kind, key) DO UPDATE
           SET body = excluded.body, shasums = excluded.shasums, signature = excluded.signature, fetched_at = excluded.fetched_at
         WHERE excluded.fetched_at >= upstream_cache.fetched_at`,
      ),
      remove: db.prepare<[string, string, string]>(`DELETE FROM upstream_cache WHERE hostname = ? AND kind = ? AND key = ?`),
      count: db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM upstream_cache`),
    };
  }

  get(hostname: string, kind: UpstreamCacheKind, key: string): UpstreamCacheEntry | undefined {
    const row = this.stmts.get.get(hostname, kind, key);
    return row === undefined ? undefined : { ...pick(row), fetchedAt: row.fetched_at };
  }

  put(e: UpstreamCacheEntry): void {
    this.stmts.put.run({ ...pick(e), fetched_at: e.fetchedAt });
  }

  remove(hostname: string, kind: UpstreamCacheKind, key: string): void {
    this.stmts.remove.run(hostname, kind, key);
  }

  count(): number {
    return this.stmts.count.get()?.n ?? 0;
  }
}

function pick(e: Omit<UpstreamCacheEntry, 'fetchedAt'>): Omit<UpstreamCacheEntry, 'fetchedAt'> {
  return { hostname: e.hostname, kind: e.kind, key: e.key, body: e.body, shasums: e.shasums ?? null, signature: e.signature ?? null };
}
