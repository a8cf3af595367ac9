import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { openDatabase } from '../../server/src/db/database.js';

function tempDb(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-db-start-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'tfmirror.db');
}

test('opening a migrated database does not wait for another process holding the write lock', (t) => {
  const file = tempDb(t);
  openDatabase(file).close();
  const writer = new BetterSqlite3(file);
  writer.exec('BEGIN IMMEDIATE');
  t.teardown(() => writer.close());
  const started = performance.now();
  const db = openDatabase(file, { busyTimeoutMs: 2_000 });
  const waited = performance.now() - started;
  db.close();
  writer.exec('ROLLBACK');
  t.true(waited < 1_000, `waited ${waited.toFixed(0)} ms for the lock`);
});
