import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { AuditLog } from '../../../server/src/admin/audit/log.js';
import { backupRoutes } from '../../../server/src/admin/backup/routes.js';
import { BackupService } from '../../../server/src/admin/backup/service.js';
import { backupKey, backupTime } from '../../../server/src/admin/backup/keys.js';
import { AuditRepository } from '../../../server/src/db/audit.js';
import { Conflict } from '../../../server/src/errors.js';
import { startAdminApp } from '../audit/app.js';
import { dataDir, snapshot, writeRows } from './helpers.js';

test('backup keys carry a sortable UTC timestamp that reads back', (t) => {
  const at = new Date('2024-01-02T03:04:05.678Z');
  t.is(backupKey(at), 'backups/tfmirror-20240102T030405.678Z.db');
  t.deepEqual(backupTime(backupKey(at)), at);
  t.is(backupTime('backups/other.db'), undefined);
});

test('a backup is a complete copy of the database in the store, and its temp file is gone', async (t) => {
  const d = await dataDir();
  t.teardown(d.cleanup);
  const db = d.open();
  writeRows(db, 'null', 3);
  const service = new BackupService({ db, store: d.store, now: () => new Date('2024-01-02T03:04:05.678Z') });
  const made = await service.backup();
  t.deepEqual(made, { key: 'backups/tfmirror-20240102T030405.678Z.db', bytes: made.bytes, createdAt: '2024-01-02T03:04:05.678Z' });
  const file = path.join(d.store.root, made.key);
  t.is(fs.statSync(file).size, made.bytes);
  const copy = new Database(file, { readonly: true });
  t.deepEqual(snapshot(copy), snapshot(db));
  copy.close();
  t.deepEqual(fs.readdirSync(d.dir).filter((n) => n.startsWith('.tfmirror-backup-')), []);
  db.close();
});

test('backups are listed newest first; other objects under backups/ are ignored', async (t) => {
  const d = await dataDir();
  t.teardown(d.cleanup);
  const db = d.open();
  let now = Date.parse('2024-01-01T00:00:00Z');
  const service = new BackupService({ db, store: d.store, now: () => new Date((now += 60_000)) });
  const keys = [(await service.backup()).key, (await service.backup()).key, (await service.backup()).key];
  await d.store.put('backups/notes.txt', (await import('node:stream')).Readable.from([Buffer.from('hi')]));
  const listed = await service.list();
  t.deepEqual(listed.map((b) => b.key), [...keys].reverse());
  t.is(listed[0]!.createdAt, '2024-01-01T00:03:00.000Z');
  db.close();
});

test('a second backup while one runs is a Conflict', async (t) => {
  const d = await dataDir();
  t.teardown(d.cleanup);
  const db = d.open();
  const service = new BackupService({ db, store: d.store });
  const first = service.backup();
  await t.throwsAsync(service.backup(), { instanceOf: Conflict });
  await first;
  await t.notThrowsAsync(service.backup());
  db.close();
});

test('an aborted backup stores nothing and leaves no temp file', async (t) => {
  const d = await dataDir();
  t.teardown(d.cleanup);
  const db = d.open();
  const service = new BackupService({ db, store: d.store });
  await t.throwsAsync(service.backup({ signal: AbortSignal.abort() }), { any: true, name: 'AbortError' });
  t.deepEqual(await service.list(), []);
  t.deepEqual(fs.readdirSync(d.dir).filter((n) => n.startsWith('.tfmirror-backup-')), []);
  db.close();
});

test('POST /backup answers 201 and is audited; GET /backups lists it; viewers may do neither', async (t) => {
  const d = await dataDir();
  t.teardown(d.cleanup);
  const db = d.open();
  const log = new AuditLog({ repo: new AuditRepository(db) });
  const app = await startAdminApp(backupRoutes({ backups: new BackupService({ db, store: d.store }) }), log.record);
  t.teardown(() => app.close());

  const res = await app.request('POST', '/backup', { token: 'admin-token' });
  t.is(res.status, 201);
  t.deepEqual(Object.keys(res.body).sort(), ['bytes', 'createdAt', 'key']);
  t.regex(res.body.key, /^backups\/tfmirror-\d{8}T\d{6}\.\d{3}Z\.db$/);
  t.true(fs.existsSync(path.join(d.store.root, res.body.key)));

  const list = await app.request('GET', '/backups', { token: 'admin-token' });
  t.deepEqual(list.body, { items: [res.body] });

  t.is((await app.request('POST', '/backup', { token: 'viewer-token' })).status, 403);
  t.is((await app.request('GET', '/backups', { token: 'viewer-token' })).status, 403);

  const audited = log.query({ action: 'backup.create', limit: 10, offset: 0 }).items;
  t.deepEqual(audited.map((a) => [a.actor, a.outcome, a.resource]), [
    ['user:victor', 'failure', null],
    ['user:alice', 'success', `backup:${res.body.key}`],
  ]);
  t.deepEqual(JSON.parse(audited[1]!.details!), { bytes: res.body.bytes });
  db.close();
});
