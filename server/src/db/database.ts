import fs from 'node:fs';
import path from 'node:path';
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
  let applied = 0;
  for (const m of migrations) {
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
