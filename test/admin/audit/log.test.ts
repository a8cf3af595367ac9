import test from 'ava';
import { AuditLog } from '../../../server/src/admin/audit/log.js';
import { MAX_DETAILS_BYTES, encodeDetails } from '../../../server/src/admin/audit/details.js';
import type { AuditEntry } from '../../../server/src/admin/framework/router.js';
import { AuditRepository } from '../../../server/src/db/audit.js';
import { openDatabase } from '../../../server/src/db/database.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = 1_700_000_000_000;

function auditLog(now = () => T0) {
  const db = openDatabase(':memory:');
  const errors: unknown[] = [];
  const logger = { error: (obj: unknown) => void errors.push(obj), warn: (obj: unknown) => void errors.push(obj) };
  const log = new AuditLog({ repo: new AuditRepository(db), logger: logger as never, now });
  return { db, log, errors };
}

const entry = (over: Partial<AuditEntry> = {}): AuditEntry => ({
  actor: 'user:alice',
  action: 'provider.update',
  resource: 'provider:1',
  outcome: 'success',
  ip: '127.0.0.1',
  userAgent: 'curl/8',
  requestId: 'req-1',
  ...over,
});

test('record stores the entry with the clock time', (t) => {
  const { log } = auditLog();
  log.record(entry({ details: { status: 'blocked' } }));
  const [row] = log.query({ limit: 10, offset: 0 }).items;
  t.like(row, { at: T0, actor: 'user:alice', action: 'provider.update', resource: 'provider:1', outcome: 'success', ip: '127.0.0.1', userAgent: 'curl/8', requestId: 'req-1' });
  t.deepEqual(JSON.parse(row!.details!), { status: 'blocked' });
});

test('record is usable as a detached sink (the router calls it unbound)', (t) => {
  const { log } = auditLog();
  const sink = log.record;
  sink(entry());
  t.is(log.query({ limit: 10, offset: 0 }).total, 1);
});

test('keys named like secrets are stripped from details, at any depth', (t) => {
  const stored = JSON.parse(
    encodeDetails({
      username: 'alice',
      password: 'hunter2',
      tokenId: 7,
      nested: { jwt_secret: 's', accessToken: 't', Authorization: 'Bearer x', kept: true },
      list: [{ newPassword: 'p', name: 'n' }],
    })!,
  );
  t.deepEqual(stored, { username: 'alice', tokenId: 7, nested: { kept: true }, list: [{ name: 'n' }] });
});

test('oversized details are kept as valid JSON within 4 KiB', (t) => {
  for (const filler of ['x', '"', 'é', '\u{1F600}']) {
    const text = encodeDetails({ blob: filler.repeat(10_000) })!;
    t.true(Buffer.byteLength(text) <= MAX_DETAILS_BYTES, filler);
    const parsed = JSON.parse(text) as { truncated: boolean; bytes: number; preview: string };
    t.true(parsed.truncated);
    t.true(parsed.bytes > MAX_DETAILS_BYTES);
    t.true(parsed.preview.startsWith('{"blob":'));
  }
});

test('details that cannot be encoded do not stop the entry', (t) => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  t.deepEqual(JSON.parse(encodeDetails({ cyclic, big: 10n })!), { cyclic: { a: 1, self: '[circular]' }, big: '10' });
  t.is(encodeDetails({}), null);
  t.is(encodeDetails(undefined), null);
});

test('a failing insert is logged and never thrown into the request', (t) => {
  const { db, log, errors } = auditLog();
  db.close();
  t.notThrows(() => log.record(entry()));
  t.is(errors.length, 1);
  t.like(errors[0], { audit: { actor: 'user:alice', action: 'provider.update' } });
});

test('long client-controlled fields are cut', (t) => {
  const { log } = auditLog();
  log.record(entry({ userAgent: 'a'.repeat(5000) }));
  t.is(log.query({ limit: 1, offset: 0 }).items[0]!.userAgent!.length, 512);
});

test('retention prunes at start and on every tick, keeping the last N days', async (t) => {
  let now = T0;
  const { log } = auditLog(() => now);
  for (const age of [100, 91, 89, 1]) {
    now = T0 - age * DAY;
    log.record(entry({ resource: `age:${age}` }));
  }
  now = T0;
  log.startRetention(90, () => now, 20);
  t.deepEqual(log.query({ limit: 10, offset: 0 }).items.map((i) => i.resource), ['age:1', 'age:89']);
  now = T0 + 10 * DAY;
  await new Promise((r) => setTimeout(r, 80));
  log.stopRetention();
  t.deepEqual(log.query({ limit: 10, offset: 0 }).items.map((i) => i.resource), ['age:1']);
});

test('retention defaults to 90 days on the log clock and refuses a non-positive period', (t) => {
  let now = T0;
  const { log } = auditLog(() => now);
  for (const age of [91, 89]) {
    now = T0 - age * DAY;
    log.record(entry({ resource: `age:${age}` }));
  }
  now = T0;
  t.throws(() => log.startRetention(0), { instanceOf: RangeError });
  log.startRetention();
  log.stopRetention();
  t.deepEqual(log.query({ limit: 10, offset: 0 }).items.map((i) => i.resource), ['age:89']);
});
