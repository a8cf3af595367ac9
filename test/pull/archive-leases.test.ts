import test from 'ava';
import { Unavailable } from '../../server/src/errors.js';
import { pullKey } from '../../server/src/pull/archive.js';
import { PLATFORM, VERSION, provider, pullSetup, receive } from './archive-setup.js';

const SLOW_ARCHIVE = { fault: { kind: 'slowBody', chunkBytes: 64 * 1024, delayMs: 10 }, path: /\.zip$/ } as const;
const key = pullKey(provider, VERSION, PLATFORM);

test('two pullers on one database (two processes) make one upstream download for all their callers', async (t) => {
  const s = await pullSetup(t);
  s.registry.fault(SLOW_ARCHIVE);
  const a = s.puller('a');
  const b = s.puller('b', { peerPollMs: 100 });
  // a takes the lease before its first pull returns; b's callers find it live.
  const fromA = Array.from({ length: 8 }, () => a.puller.pull(provider, s.release, PLATFORM));
  const fromB = Array.from({ length: 8 }, () => b.puller.pull(provider, s.release, PLATFORM));
  const pulls = await Promise.all([...fromA, ...fromB]);
  const bodies = await Promise.all(pulls.map((p) => receive(p.body)));

  t.is(s.downloads(), 1);
  for (const body of bodies) t.deepEqual(body, { sha256: s.expected.sha256, size: s.expected.size });
  t.true(pulls.slice(8).every((p) => p.via === 'joined'), "b's callers are served the package a published");
  t.like(a.puller.stats(), { downloads: 1, peerWaits: 0 });
  t.like(b.puller.stats(), { downloads: 0, peerWaits: 1 });
  t.is(a.repos.pullLeases.find(key), undefined, 'the lease is released once published');
  t.deepEqual([...a.stagedFiles(), ...b.stagedFiles()], []);
});

test('the downloading process renews its lease, so a download longer than the lease is not taken over', async (t) => {
  const s = await pullSetup(t);
  // ~2.5 s of download against a 1 s lease renewed every 200 ms.
  s.registry.fault({ fault: { kind: 'slowBody', chunkBytes: 64 * 1024, delayMs: 80 }, path: /\.zip$/ });
  const a = s.puller('a', { leaseMs: 1000, heartbeatMs: 200 });
  const b = s.puller('b', { leaseMs: 1000, heartbeatMs: 200, peerPollMs: 50 });
  const first = await a.puller.pull(provider, s.release, PLATFORM);
  const second = b.puller.pull(provider, s.release, PLATFORM);
  const [fromA, fromB] = await Promise.all([receive(first.body), second.then((p) => receive(p.body))]);
  t.deepEqual(fromA, { sha256: s.expected.sha256, size: s.expected.size });
  t.deepEqual(fromB, { sha256: s.expected.sha256, size: s.expected.size });
  t.is((await second).via, 'joined');
  t.is(s.downloads(), 1);
});

test('closing a puller cuts the downloads it runs and publishes nothing', async (t) => {
  const s = await pullSetup(t);
  s.registry.fault({ fault: { kind: 'slowBody', chunkBytes: 64 * 1024, delayMs: 25 }, path: /\.zip$/ });
  const a = s.puller('a');
  const pulled = await a.puller.pull(provider, s.release, PLATFORM);
  const body = receive(pulled.body);
  await a.puller.close();
  const got = await body;
  t.truthy(got.error);
  t.true(got.size < s.expected.size);
  t.is(a.repos.providers.findPackage(provider, VERSION, 'linux', 'amd64'), undefined);
  t.is(a.repos.pullLeases.find(key), undefined, 'its lease is given up for another process to take');
  t.deepEqual(a.stagedFiles(), []);
  await t.throwsAsync(a.puller.pull(provider, s.release, PLATFORM), { instanceOf: Unavailable, message: /shutting down/ }, 'nothing new starts');
  t.deepEqual(a.published, []);
});

const takeovers = [
  { name: 'a lease that expired is taken over at once', leaseMs: -1, minWaitMs: 0 },
  { name: 'a live lease whose owner stops renewing it is taken over when it expires', leaseMs: 400, minWaitMs: 300 },
];

for (const c of takeovers) {
  test(c.name, async (t) => {
    const s = await pullSetup(t, 256 * 1024);
    const p = s.puller('survivor', { peerPollMs: 50 });
    // A process that took the lease and died.
    t.true(p.repos.pullLeases.acquire(key, 'dead-process', c.leaseMs, Date.now()));
    const started = Date.now();
    const pulled = await p.puller.pull(provider, s.release, PLATFORM);
    t.deepEqual(await receive(pulled.body), { sha256: s.expected.sha256, size: s.expected.size });
    t.true(Date.now() - started >= c.minWaitMs, `waited ${Date.now() - started} ms`);
    t.is(pulled.via, 'started');
    t.is(s.downloads(), 1);
  });
}

test('waiting for another process is bounded: a live lease that never publishes ends in Unavailable, with no download', async (t) => {
  const s = await pullSetup(t, 4096);
  const p = s.puller('patient', { peerPollMs: 50, peerWaitMs: 300 });
  p.repos.pullLeases.acquire(key, 'stuck-process', 60_000, Date.now());
  const err = await t.throwsAsync(p.puller.pull(provider, s.release, PLATFORM), { instanceOf: Unavailable, message: /another mirror process/ });
  t.truthy(err?.retryAfterSeconds);
  t.is(s.downloads(), 0);
});

test('a lease is refused while another owner holds it live, taken when it expired, and a heartbeat of a lost lease says so', async (t) => {
  const s = await pullSetup(t, 4096);
  const { pullLeases: leases } = s.puller().repos;
  const now = 1_000_000;
  t.true(leases.acquire(key, 'one', 1000, now));
  t.false(leases.acquire(key, 'two', 1000, now + 999));
  t.true(leases.acquire(key, 'one', 1000, now + 500), 'its owner may take it again');
  t.true(leases.heartbeat(key, 'one', 1000, now + 900));
  t.false(leases.acquire(key, 'two', 1000, now + 1899), 'the heartbeat extended it');
  t.true(leases.acquire(key, 'two', 1000, now + 1900));
  t.false(leases.heartbeat(key, 'one', 1000, now + 1901));
  leases.release(key, 'one');
  t.is(leases.find(key)?.owner, 'two', "a release by a former owner leaves the new owner's lease");
  leases.release(key, 'two');
  t.is(leases.find(key), undefined);
});

test('of two connections asking for one free lease at the same moment, exactly one gets it', async (t) => {
  const s = await pullSetup(t, 4096);
  const one = s.puller('one').repos.pullLeases;
  const two = s.puller('two').repos.pullLeases;
  const now = Date.now();
  for (let i = 0; i < 20; i++) {
    const k = `${key}#${i}`;
    const won = [one.acquire(k, 'one', 30_000, now), two.acquire(k, 'two', 30_000, now)];
    t.deepEqual(won, [true, false]);
    t.is(two.find(k)?.owner, 'one', 'the other connection sees the winner');
  }
});
