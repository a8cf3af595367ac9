import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import Koa from 'koa';
import type { Database } from '../../server/src/db/database.js';
import { healthRoutes } from '../../server/src/http/health.js';
import type { ObjectStore } from '../../server/src/storage/store.js';

const MARKER = 'SECRET-MARKER-7f3a';

/** A database whose every statement fails the way a driver error would, with internals in the message. */
const brokenDb = {
  prepare() {
    throw new Error(`SQLITE_CANTOPEN: unable to open /srv/${MARKER}/tfmirror.db`);
  },
} as unknown as Database;
const workingDb = { prepare: () => ({ get: () => ({ 1: 1 }) }) } as unknown as Database;

function storeWhoseCheck(check: () => Promise<void>): ObjectStore {
  return { check } as unknown as ObjectStore;
}
const workingStore = storeWhoseCheck(async () => {});
const brokenStore = storeWhoseCheck(async () => {
  throw new Error(`AccessDenied: https://bucket.s3.amazonaws.com/?X-Amz-Credential=${MARKER}`);
});

async function readyz(db: Database, store: ObjectStore, failures: { check: string; err: unknown }[] = []): Promise<{ status: number; text: string }> {
  const app = new Koa();
  app.use(healthRoutes({ db, store, onCheckFailed: (check, err) => failures.push({ check, err }) }).routes());
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
    return { status: res.status, text: await res.text() };
  } finally {
    server.close();
  }
}

const cases = [
  { name: 'a failing object store is named, its error text is not', db: workingDb, store: brokenStore, failed: ['storage'] },
  { name: 'a failing database is named, its error text is not', db: brokenDb, store: workingStore, failed: ['database'] },
  { name: 'both failing are both named', db: brokenDb, store: brokenStore, failed: ['database', 'storage'] },
];
for (const c of cases) {
  test(`readyz: ${c.name}`, async (t) => {
    const failures: { check: string; err: unknown }[] = [];
    const r = await readyz(c.db, c.store, failures);
    t.is(r.status, 503);
    t.false(r.text.includes(MARKER), `no raw error text in ${r.text}`);
    const body = JSON.parse(r.text) as { status: string; checks: Record<string, string> };
    t.is(body.status, 'unavailable');
    for (const name of ['database', 'storage']) {
      t.is(body.checks[name], c.failed.includes(name) ? 'failed' : 'ok', name);
    }
    // The detail goes to the log, where operators look for it.
    t.deepEqual(failures.map((f) => f.check), c.failed);
    t.true(failures.every((f) => (f.err as Error).message.includes(MARKER)));
  });
}

test('readyz: all checks passing answers 200 ok', async (t) => {
  const r = await readyz(workingDb, workingStore);
  t.is(r.status, 200);
  t.deepEqual(JSON.parse(r.text), { status: 'ok', checks: { database: 'ok', storage: 'ok' } });
});
