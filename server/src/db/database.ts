import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { migrations } from './migrations.js';

export type Database = BetterSqlite3.Database;

export interface OpenOptions {
  /** Milliseconds a writer waits for another process's lock (import beside serve). */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/**
 * Opens the SQLite database with the settings every process must share:
 * WAL (readers never block the writer), foreign keys, a busy timeout so a
 * one-shot `tfmirror import` and a running `serve` take turns instead of
 * failing, then applies pending migrations.
 */
export function openDatabase(file: string, opts: OpenOptions = {}): Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new BetterSqlite3(file, { readonly: opts.readonly ?? false });
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10_000}`);
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    // NORMAL is durable across application crashes in WAL mode; only an OS
    // crash can lose the last transactions, never corrupt the file.
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  if (!opts.readonly) migrate(db);
  return db;
}

/**
 * Applies numbered migrations in order, each in its own IMMEDIATE
 * transaction, so two processes starting at once cannot both apply one.
 */
export function migrate(db: Database): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`);
  const isApplied = db.prepare<[number], { version: number }>('SELECT version FROM schema_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)');
  // Every start runs this: one read settles the usual case (nothing pending) without taking the
  // write lock once per migration, which made a start wait behind another process's long write.
  const done = new Set(db.prepare<[], number>('SELECT version FROM schema_migrations').pluck().all());
  let applied = 0;
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    const apply = db.transaction(() => {
      if (isApplied.get(m.version)) return false;
      db.exec(m.sql);
      record.run(m.version, m.name);
      return true;
    });
    if (apply.immediate()) applied++;
  }
  return applied;
}

/**
 * The busy timeout of `serve`'s connection. better-sqlite3 is synchronous:
 * while SQLite waits for another process's write lock, the event loop waits
 * with it, and with the 10 s default one `tfmirror import` or a stuck tool
 * holding a write for 5 s froze every request for 5 s. Kept well under the
 * 50 ms a request may stall; background writers wait for the lock with
 * whenNotBusy() instead, off the event loop.
 */
export const SERVER_BUSY_TIMEOUT_MS = 10;

/** For a long-running server: a writer meeting another process's lock gives up quickly instead of blocking. */
export function preferNonBlockingWrites(db: Database): void {
  db.pragma(`busy_timeout = ${SERVER_BUSY_TIMEOUT_MS}`);
}

/** SQLITE_BUSY and its extended codes: another connection holds the lock. */
export function isBusy(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  return code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_');
}

/**
 * Runs a synchronous write, and while the database is busy runs it again
 * after a pause that grows to 250 ms, letting the event loop serve requests
 * meanwhile. Other errors, and busy past maxWaitMs, are thrown.
 */
export async function whenNotBusy<T>(write: () => T, opts: { maxWaitMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const deadline = Date.now() + (opts.maxWaitMs ?? 60_000);
  for (let pause = 10; ; pause = Math.min(pause * 2, 250)) {
    try {
      return write();
    } catch (err) {
      if (!isBusy(err) || Date.now() + pause > deadline) throw err;
    }
    await sleep(pause, undefined, opts.signal ? { signal: opts.signal } : {});
  }
}

/**
 * SQLite's data_version changes whenever another connection commits. It costs
 * no disk read, which makes it the cheap signal for "someone else wrote; drop
 * your caches".
 */
export function dataVersion(db: Database): number {
  return db.pragma('data_version', { simple: true }) as number;
}

/** A cheap query proving the database file is readable (for /readyz). */
export function pingDatabase(db: Database): void {
  db.prepare('SELECT 1').get();
}
