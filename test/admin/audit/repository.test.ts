import test from 'ava';
import { AuditRepository, type NewAuditRow } from '../../../server/src/db/audit.js';
import { openDatabase } from '../../../server/src/db/database.js';

const T0 = 1_700_000_000_000;

function seeded() {
  const repo = new AuditRepository(openDatabase(':memory:'));
  const rows: [NewAuditRow, number][] = [
    [{ actor: 'user:alice', action: 'auth.login', outcome: 'success', ip: '10.0.0.1' }, T0],
    [{ actor: 'user:bob', action: 'auth.login', outcome: 'failure', ip: '10.0.0.2' }, T0 + 1000],
    [{ actor: 'user:alice', action: 'provider.update', resource: 'provider:12', outcome: 'success', details: '{"status":"blocked"}' }, T0 + 2000],
    [{ actor: 'user:alice', action: 'auth.logout', outcome: 'success' }, T0 + 3000],
    [{ actor: 'operator-token', action: 'authz.check', outcome: 'success' }, T0 + 4000],
    [{ actor: 'operator-token', action: 'auth', outcome: 'success' }, T0 + 5000],
  ];
  for (const [row, at] of rows) repo.insert(row, at);
  return repo;
}

const page = { limit: 50, offset: 0 };

test('entries come back newest first with all their columns', (t) => {
  const repo = seeded();
  const { items, total } = repo.query(page);
  t.is(total, 6);
  t.deepEqual(items.map((i) => i.at), [T0 + 5000, T0 + 4000, T0 + 3000, T0 + 2000, T0 + 1000, T0]);
  t.like(items[3], { actor: 'user:alice', action: 'provider.update', resource: 'provider:12', outcome: 'success', ip: null, userAgent: null, requestId: null, details: '{"status":"blocked"}' });
});

const filters = [
  { name: 'by actor', q: { actor: 'user:alice' }, expect: ['auth.logout', 'provider.update', 'auth.login'] },
  { name: 'by exact action', q: { action: 'auth.login' }, expect: ['auth.login', 'auth.login'] },
  { name: 'by action prefix ending in a dot, not matching lookalikes', q: { action: 'auth.' }, expect: ['auth.logout', 'auth.login', 'auth.login'] },
  { name: 'by resource', q: { resource: 'provider:12' }, expect: ['provider.update'] },
  { name: 'by outcome', q: { outcome: 'failure' as const }, expect: ['auth.login'] },
  { name: 'since inclusive, until exclusive', q: { since: T0 + 1000, until: T0 + 3000 }, expect: ['provider.update', 'auth.login'] },
  { name: 'combined', q: { actor: 'user:alice', action: 'auth.', outcome: 'success' as const }, expect: ['auth.logout', 'auth.login'] },
];
for (const f of filters) {
  test(`query filters ${f.name}`, (t) => {
    const { items, total } = seeded().query({ ...page, ...f.q });
    t.deepEqual(items.map((i) => i.action), f.expect);
    t.is(total, f.expect.length);
  });
}

test('paging keeps the total of all matches', (t) => {
  const repo = seeded();
  const first = repo.query({ limit: 2, offset: 0 });
  const second = repo.query({ limit: 2, offset: 2 });
  t.is(first.total, 6);
  t.is(second.total, 6);
  t.deepEqual(second.items.map((i) => i.at), [T0 + 3000, T0 + 2000]);
});

test('limit is clamped to 1..500', (t) => {
  const repo = seeded();
  t.is(repo.query({ limit: 0, offset: 0 }).items.length, 1);
  for (let i = 0; i < 600; i++) repo.insert({ actor: 'a', action: 'x', outcome: 'success' }, T0);
  t.is(repo.query({ limit: 10_000, offset: 0 }).items.length, 500);
});

test('prune deletes only entries older than the cutoff', (t) => {
  const repo = seeded();
  t.is(repo.prune(T0 + 2000), 2);
  t.deepEqual(repo.query(page).items.map((i) => i.at).at(-1), T0 + 2000);
  t.is(repo.query(page).total, 4);
});
