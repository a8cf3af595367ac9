import test from 'ava';
import { CustomObjectsApi } from '@kubernetes/client-node';
import pino from 'pino';
import { Operator } from '../../../operator/src/operator.js';
import { FakeKubeApiserver } from '../../fixtures/fake-kube-apiserver.js';
import { FakeServerClient } from './fake-server-client.js';
import { waitFor } from '../../fixtures/wait.js';
import { CR, providerSetBody } from './kube-objects.js';

const logger = pino({ level: 'silent' });


const body = providerSetBody;

test('only the leading replica reconciles, and the standby takes over when the leader stops', async (t) => {
  const fake = await FakeKubeApiserver.start();
  t.teardown(() => fake.close());
  const api = fake.kubeConfig().makeApiClient(CustomObjectsApi);
  const replica = (identity: string, server: FakeServerClient) =>
    new Operator({
      kubeConfig: fake.kubeConfig(),
      server,
      logger,
      leaseNamespace: 'tfmirror',
      identity,
      election: { leaseDurationMs: 2000, renewDeadlineMs: 1000, retryPeriodMs: 30 },
    });
  const serverA = new FakeServerClient();
  const serverB = new FakeServerClient();
  const a = replica('pod-a', serverA);
  const b = replica('pod-b', serverB);
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  a.start();
  await waitFor('a leads', () => a.isLeader);
  b.start();

  await api.createNamespacedCustomObject({ ...CR, body: body('first') });
  await waitFor('reconciled by a', () => serverA.count('PUT', 'ns/first') === 1);
  await new Promise((r) => setTimeout(r, 100));
  t.is(serverB.calls.length, 0, 'the standby does nothing');

  await a.stop();
  await waitFor('b leads', () => b.isLeader);
  await api.createNamespacedCustomObject({ ...CR, body: body('second') });
  await waitFor('reconciled by b', () => serverB.count('PUT', 'ns/second') === 1);
  t.is(serverA.count('PUT', 'ns/second'), 0);
});

function replicas(fake: FakeKubeApiserver, election: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number }) {
  const make = (identity: string, server: FakeServerClient) =>
    new Operator({ kubeConfig: fake.kubeConfig(), server, logger, leaseNamespace: 'tfmirror', identity, election });
  const serverA = new FakeServerClient();
  const serverB = new FakeServerClient();
  return { a: make('pod-a', serverA), b: make('pod-b', serverB), serverA, serverB };
}

const leaseHolder = (fake: FakeKubeApiserver) =>
  (fake.objects('Lease', 'tfmirror')[0]?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

test('the leader keeps renewing while the informers\' list calls are slow, so the standby never takes over', async (t) => {
  const fake = await FakeKubeApiserver.start();
  t.teardown(() => fake.close());
  const { a, b } = replicas(fake, { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 50 });
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  // Every list the new leader's informers make takes 3.5 s: more than two lease durations.
  fake.delayNext(10, 3500, { verb: 'list', path: /\/provider(sets|mirrors)$/ });
  a.start();
  await waitFor('a leads', () => a.isLeader);
  b.start();
  const renewalsBefore = fake.requests.filter((r) => r.method === 'PUT' && r.path.includes('/leases/')).length;
  const until = Date.now() + 3000;
  const holders = new Set<string | undefined>();
  let standbyLed = false;
  while (Date.now() < until) {
    standbyLed ||= b.isLeader;
    holders.add(leaseHolder(fake));
    await new Promise((r) => setTimeout(r, 10));
  }
  t.false(standbyLed, 'the standby took the lease while the leader was listing');
  t.deepEqual([...holders], ['pod-a']);
  const renewals = fake.requests.filter((r) => r.method === 'PUT' && r.path.includes('/leases/')).length - renewalsBefore;
  // Before, renewal waited for the lists: none at all in this window.
  t.true(renewals >= 3, `only ${renewals} renewals in 3 s`);
});

test('a leader whose renewals fail stops writing before its lease can expire, and the standby acquires only after expiry', async (t) => {
  const fake = await FakeKubeApiserver.start();
  t.teardown(() => fake.close());
  const election = { leaseDurationMs: 1500, renewDeadlineMs: 500, retryPeriodMs: 50 };
  const { a, b, serverA } = replicas(fake, election);
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  // Each PUT takes 300 ms, so reconciles are always in flight when the lease is lost.
  serverA.putDelayMs = 300;
  a.start();
  await waitFor('a leads', () => a.isLeader);
  b.start();
  const api = fake.kubeConfig().makeApiClient(CustomObjectsApi);
  let creating = true;
  const creator = (async () => {
    for (let i = 0; creating; i += 1) {
      await api.createNamespacedCustomObject({ ...CR, body: body(`s${i}`) });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  t.teardown(async () => {
    creating = false;
    await creator;
  });
  await waitFor('a writes status', () => fake.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/status')));

  const failedAt = Date.now();
  fake.failNext(100_000, 503, { verb: 'update', path: '/leases/', bodyIncludes: '"holderIdentity":"pod-a"' });
  await waitFor('a stops leading', () => !a.isLeader, 3000);
  const stoppedAt = Date.now();
  await waitFor('b leads', () => b.isLeader, 5000);
  const acquiredAt = Date.now();
  creating = false;
  await creator;

  t.true(stoppedAt - failedAt < election.leaseDurationMs, `a stopped ${stoppedAt - failedAt} ms after its renewals began to fail`);
  t.true(acquiredAt - failedAt >= election.leaseDurationMs - election.retryPeriodMs, `b acquired after ${acquiredAt - failedAt} ms`);
  const lastServerWrite = Math.max(...serverA.calls.filter((c) => c.method === 'PUT' || c.method === 'DELETE').map((c) => c.at));
  t.true(lastServerWrite <= stoppedAt, `a wrote to the server ${lastServerWrite - stoppedAt} ms after it stopped leading`);
  // Until b leads only a can write to the cluster (the test itself only creates objects).
  const lateKubeWrites = fake.requests.filter(
    (r) => r.at > stoppedAt + 50 && r.at < acquiredAt && (r.method === 'PATCH' || (r.method === 'POST' && r.path.includes('/events'))),
  );
  t.deepEqual(lateKubeWrites.map((r) => `${r.method} ${r.path} +${r.at - stoppedAt} ms`), []);
});
