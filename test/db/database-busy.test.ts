import test from 'ava';
import { isBusy, openDatabase, preferNonBlockingWrites, whenNotBusy } from '../../server/src/db/database.js';
import { tempDatabaseFile } from './job-fixtures.js';

function twoConnections(t: { teardown(fn: () => void): void }) {
  const { file, cleanup } = tempDatabaseFile();
  const server = openDatabase(file);
  const other = openDatabase(file);
  t.teardown(() => {
    server.close();
    other.close();
    cleanup();
  });
  server.exec('CREATE TABLE t (n INTEGER)');
  preferNonBlockingWrites(server);
  return { server, other };
}

test('a write meeting another connection’s lock fails fast instead of blocking the event loop', (t) => {
  const { server, other } = twoConnections(t);
  other.exec('BEGIN IMMEDIATE');
  const started = performance.now();
  let err: unknown;
  try {
    server.prepare('INSERT INTO t VALUES (1)').run();
  } catch (e) {
    err = e;
  }
  t.true(isBusy(err));
  t.true(performance.now() - started < 200, 'gave up within the short busy timeout');
  other.exec('ROLLBACK');
});

test('whenNotBusy waits for the lock with timers, not by blocking, and then writes', async (t) => {
  const { server, other } = twoConnections(t);
  other.exec('BEGIN IMMEDIATE');
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  setTimeout(() => other.exec('COMMIT'), 300);
  await whenNotBusy(() => server.prepare('INSERT INTO t VALUES (1)').run());
  clearInterval(ticker);
  t.true(ticks >= 10, `the event loop kept running while waiting (${ticks} ticks)`);
  t.is((server.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 1);
});

test('whenNotBusy gives up with the busy error after maxWaitMs and passes other errors at once', async (t) => {
  const { server, other } = twoConnections(t);
  other.exec('BEGIN IMMEDIATE');
  const started = performance.now();
  const err: unknown = await whenNotBusy(() => server.prepare('INSERT INTO t VALUES (1)').run(), { maxWaitMs: 100 }).catch((e: unknown) => e);
  t.true(isBusy(err));
  t.true(performance.now() - started < 1_000);
  other.exec('ROLLBACK');
  const other2: unknown = await whenNotBusy(() => server.prepare('INSERT INTO missing VALUES (1)').run()).catch((e: unknown) => e);
  t.regex(String((other2 as Error).message), /no such table/);
});
