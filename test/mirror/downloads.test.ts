import test from 'ava';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository, type DownloadTally } from '../../server/src/db/providers.js';
import { DownloadCounter } from '../../server/src/mirror/downloads.js';

const provider = { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' };

const FILENAME = 'terraform-provider-null_3.2.1_linux_amd64.zip';

function recordNullPackage(providers: ProviderRepository): void {
  providers.recordPackage({
    provider,
    version: '3.2.1',
    origin: 'pulled',
    os: 'linux',
    arch: 'amd64',
    filename: FILENAME,
    size: 10,
    sha256: 'ab'.repeat(32),
    h1: 'h1:x',
    objectKey: 'k',
  });
}

function world() {
  const db = openDatabase(':memory:');
  const providers = new ProviderRepository(db);
  recordNullPackage(providers);
  const id = () => providers.findPackage(provider, '3.2.1', 'linux', 'amd64')!.id;
  const row = () =>
    db.prepare<[number], { count: number; first: string | null; last: string | null }>(
      'SELECT download_count AS count, first_download_at AS first, last_download_at AS last FROM provider_packages WHERE id = ?',
    ).get(id())!;
  return {
    db,
    providers,
    get id() {
      return id();
    },
    row,
  };
}

/** A clock the test moves by hand. */
function clock(start: string) {
  let now = new Date(start);
  return { now: () => now, set: (iso: string) => void (now = new Date(iso)) };
}

test('first and last download are the times of the downloads, not of the flush', (t) => {
  const w = world();
  t.teardown(() => w.db.close());
  const c = clock('2026-01-01T10:00:00.000Z');
  const counter = new DownloadCounter(w.providers, 60_000, c.now);
  t.deepEqual(w.row(), { count: 0, first: null, last: null });
  counter.record(w.id);
  c.set('2026-01-01T10:00:03.000Z');
  counter.record(w.id);
  c.set('2026-01-01T10:00:05.000Z');
  counter.flush();
  t.deepEqual(w.row(), { count: 2, first: '2026-01-01T10:00:00.000Z', last: '2026-01-01T10:00:03.000Z' });

  c.set('2026-01-02T08:00:00.000Z');
  counter.record(w.id);
  counter.stop();
  t.deepEqual(w.row(), { count: 3, first: '2026-01-01T10:00:00.000Z', last: '2026-01-02T08:00:00.000Z' }, 'the first download stays, the last moves on');
});

test('a flush the database refuses keeps the tallies, and the next one writes them merged with later downloads', (t) => {
  const w = world();
  t.teardown(() => w.db.close());
  const c = clock('2026-01-01T10:00:00.000Z');
  let refuse = true;
  const written: Map<number, DownloadTally>[] = [];
  const flaky = {
    recordDownloads(tallies: ReadonlyMap<number, DownloadTally>) {
      if (refuse) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      written.push(new Map(tallies));
      w.providers.recordDownloads(tallies);
    },
  };
  const counter = new DownloadCounter(flaky, 60_000, c.now);
  counter.record(w.id);
  counter.flush();
  t.deepEqual(w.row(), { count: 0, first: null, last: null });
  c.set('2026-01-01T10:01:00.000Z');
  counter.record(w.id);
  refuse = false;
  counter.flush();
  t.is(written.length, 1);
  t.deepEqual(w.row(), { count: 2, first: '2026-01-01T10:00:00.000Z', last: '2026-01-01T10:01:00.000Z' });
});

test('a late flush of older downloads moves the first download back and leaves the last', (t) => {
  // Two serve processes on one database flush on their own timers.
  const w = world();
  t.teardown(() => w.db.close());
  const at = (iso: string) => new Date(iso);
  w.providers.recordDownloads(new Map([[w.id, { count: 1, first: at('2026-01-01T10:00:05.000Z'), last: at('2026-01-01T10:00:05.000Z') }]]));
  w.providers.recordDownloads(new Map([[w.id, { count: 1, first: at('2026-01-01T10:00:01.000Z'), last: at('2026-01-01T10:00:01.000Z') }]]));
  t.deepEqual(w.row(), { count: 2, first: '2026-01-01T10:00:01.000Z', last: '2026-01-01T10:00:05.000Z' });
});
