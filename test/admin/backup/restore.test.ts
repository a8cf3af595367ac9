import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import Database from 'better-sqlite3';
import { BackupService } from '../../../server/src/admin/backup/service.js';
import { restoreCommand } from '../../../server/src/commands/restore.js';
import { Conflict, IntegrityError, NotFound } from '../../../server/src/errors.js';
import { dataDir, snapshot, writeRows, type DataDir } from './helpers.js';

function output() {
  const lines: string[] = [];
  return { lines, write: (s: string) => void lines.push(s) };
}

/** Backs up a database holding `before`, then adds `after` rows; returns the backup key and both snapshots. */
async function backedUp(d: DataDir) {
  const db = d.open();
  writeRows(db, 'null', 3);
  const made = await new BackupService({ db, store: d.store }).backup();
  const atBackup = snapshot(db);
  writeRows(db, 'random', 2);
  const later = snapshot(db);
  db.close(); // `serve` stopped
  return { key: made.key, atBackup, later };
}

function putObject(d: DataDir, key: string, bytes: Buffer) {
  return d.store.put(key, Readable.from([bytes]), { size: bytes.length });
}

test('restore brings back exactly the backed-up state and keeps the replaced database aside', async (t) => {
  const d = await dataDir();
  t.teardown(d.cleanup);
  const { key, atBackup, later } = await backedUp(d);
  t.notDeepEqual(atBackup, later);

  const out = output();
  t.is(await restoreCommand(key, d.config, out), 0);

  const db = d.open();
  t.deepEqual(snapshot(db), atBackup);
  db.close();
  const aside = fs.readdirSync(d.dir).filter((n) => n.startsWith('tfmirror.db.before-restore-'));
  t.is(aside.length, 1, aside.join());
  const previous = new Database(path.join(d.dir, aside[0]!), { readonly: true });
  t.deepEqual(snapshot(previous), later);
  previous.close();
  t.regex(out.lines.join(''), /restored .*tfmirror\.db from backups\/tfmirror-/);
  t.deepEqual(fs.readdirSync(d.dir).filter((n) => n.includes('.restore-')), []);
});

test('"latest" and a bare file name pick backups from the store', async (t) => {
  const d = await dataDir();
  t.teardown(d.cleanup);
  const db = d.open();
  const service = new BackupService({ db, store: d.store });
  const first = await service.backup();
  writeRows(db, 'null', 1);
  await new Promise((r) => setTimeout(r, 5));
  const second = await service.backup();
  const withOne = snapshot(db);
  writeRows(db, 'random', 1);
  db.close();

  await restoreCommand('latest', d.config, output());
  let check = d.open();
  t.deepEqual(snapshot(check), withOne);
  check.close();

  await restoreCommand(path.basename(first.key), d.config, output());
  check = d.open();
  t.is(snapshot(check).provider_packages!.length, 0);
  check.close();
  t.not(first.key, second.key);
});

test('restore onto an empty data directory needs no previous database', async (t) => {
  const d = await dataDir();
  t.teardown(d.cleanup);
  const { key, atBackup } = await backedUp(d);
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(d.config.database.path + suffix, { force: true });
  const out = output();
  t.is(await restoreCommand(key, d.config, out), 0);
  const db = d.open();
  t.deepEqual(snapshot(db), atBackup);
  db.close();
  t.notRegex(out.lines.join(''), /moved the previous database aside/);
});

const refusals = [
  { name: 'an object that is not SQLite', bytes: () => Buffer.from('PK\u0003\u0004 this is a zip, not a database'.repeat(200)), message: /is not a usable SQLite database/ },
  { name: 'a SQLite database without schema_migrations', bytes: () => foreignDatabase(), message: /not a tfmirror one \(no schema_migrations table\)/ },
  { name: 'a backup from a newer schema', bytes: () => newerDatabase(), message: /schema version 999, newer than this tfmirror knows/ },
];
for (const r of refusals) {
  test(`restore refuses ${r.name} and leaves the current database untouched`, async (t) => {
    const d = await dataDir();
    t.teardown(d.cleanup);
    const { later } = await backedUp(d);
    const before = fs.readdirSync(d.dir).sort();
    await putObject(d, 'backups/tfmirror-20990101T000000.000Z.db', r.bytes());
    await t.throwsAsync(restoreCommand('latest', d.config, output()), { instanceOf: IntegrityError, message: r.message });
    t.deepEqual(fs.readdirSync(d.dir).sort(), before);
    const db = d.open();
    t.deepEqual(snapshot(db), later);
    db.close();
  });
}

test('restore refuses while another connection has the database open', async (t) => {
  const d = await dataDir();
  t.teardown(d.cleanup);
  const { key, later } = await backedUp(d);
  const serving = d.open();
  await t.throwsAsync(restoreCommand(key, d.config, output()), { instanceOf: Conflict, message: /in use by another process: stop 'tfmirror serve'/ });
  t.deepEqual(snapshot(serving), later);
  serving.close();
  t.deepEqual(fs.readdirSync(d.dir).filter((n) => n.includes('before-restore') || n.includes('.restore-')), []);
});

test('restore of a missing key or from an empty store is NotFound', async (t) => {
  const d = await dataDir();
  t.teardown(d.cleanup);
  await t.throwsAsync(restoreCommand('latest', d.config, output()), { instanceOf: NotFound, message: /no backups under backups\// });
  await t.throwsAsync(restoreCommand('backups/tfmirror-20000101T000000.000Z.db', d.config, output()), { instanceOf: NotFound });
});

function foreignDatabase(): Buffer {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
  const bytes = db.serialize();
  db.close();
  return bytes;
}

function newerDatabase(): Buffer {
  const db = new Database(':memory:');
  db.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT); INSERT INTO schema_migrations VALUES (999, 'future', '')`);
  const bytes = db.serialize();
  db.close();
  return bytes;
}

test('restore refuses a truncated backup', async (t) => {
  const d = await dataDir();
  t.teardown(d.cleanup);
  const { key, later } = await backedUp(d);
  const whole = fs.readFileSync(path.join(d.store.root, key));
  await putObject(d, key, whole.subarray(0, Math.floor(whole.length / 2)));
  await t.throwsAsync(restoreCommand(key, d.config, output()), { instanceOf: IntegrityError });
  const db = d.open();
  t.deepEqual(snapshot(db), later);
  db.close();
});
