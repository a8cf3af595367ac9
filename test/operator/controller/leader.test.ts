import test from 'ava';
import pino from 'pino';
import { LEASE_NAME, LeaderElector } from '../../../operator/src/leader.js';
import { FakeKubeApiserver } from '../../fixtures/fake-kube-apiserver.js';
import { waitFor } from '../../fixtures/wait.js';

const logger = pino({ level: 'silent' });


function candidate(fake: FakeKubeApiserver, identity: string, log: string[], timing: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number }) {
  return new LeaderElector({
    kubeConfig: fake.kubeConfig(),
    namespace: 'tfmirror',
    identity,
    ...timing,
    logger,
    onStartedLeading: () => void log.push(`${identity} started`),
    onStoppedLeading: () => void log.push(`${identity} stopped`),
  });
}

const fast = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 30 };
const holder = (fake: FakeKubeApiserver) => (fake.objects('Lease', 'tfmirror')[0]?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

test('of two candidates only one leads, and the other takes over once the leader releases the lease', async (t) => {
  const fake = await FakeKubeApiserver.start();
  t.teardown(() => fake.close());
  const log: string[] = [];
  const a = candidate(fake, 'pod-a', log, fast);
  const b = candidate(fake, 'pod-b', log, fast);
  a.start();
  await waitFor('a leads', () => a.isLeader);
  b.start();
  await new Promise((r) => setTimeout(r, 300)); // ten retry periods: b keeps seeing a renew
  t.true(a.isLeader);
  t.false(b.isLeader);
  t.deepEqual(log, ['pod-a started']);
  t.is(holder(fake), 'pod-a');
  t.is(fake.objects('Lease', 'tfmirror')[0]?.metadata.name, LEASE_NAME);

  await a.stop();
  t.deepEqual(log.slice(0, 2), ['pod-a started', 'pod-a stopped']);
  // released well before the 1 s lease would expire
  const released = Date.now();
  await waitFor('b leads', () => b.isLeader);
  t.true(Date.now() - released < 500);
  t.is(holder(fake), 'pod-b');
  t.deepEqual(log, ['pod-a started', 'pod-a stopped', 'pod-b started']);
  t.is((fake.objects('Lease', 'tfmirror')[0]?.spec as { leaseTransitions?: number }).leaseTransitions, 1);
  await b.stop();
  t.is(holder(fake), '');
});

test('a leader that cannot renew within the deadline stops leading, and a crashed leader is replaced after expiry', async (t) => {
  const fake = await FakeKubeApiserver.start();
  t.teardown(() => fake.close());
  const log: string[] = [];
  const a = candidate(fake, 'pod-a', log, { leaseDurationMs: 1000, renewDeadlineMs: 300, retryPeriodMs: 30 });
  a.start();
  await waitFor('a leads', () => a.isLeader);
  fake.failNext(20, 503, { path: '/leases' }); // about 20 retry periods without a successful renew
  await waitFor('a steps down', () => !a.isLeader);
  // isLeader (the write gate) turns false on the clock; the callback follows on its own chain.
  await waitFor('the stop callback', () => log.length === 2);
  t.deepEqual(log, ['pod-a started', 'pod-a stopped']);
  await a.stop();

  // pod-a is gone without releasing; pod-b must wait out the lease (and any injected failures left)
  const b = candidate(fake, 'pod-b', log, fast);
  const started = Date.now();
  b.start();
  await waitFor('b leads after expiry', () => b.isLeader, 4000);
  t.true(Date.now() - started >= 900, 'waited for the lease to expire');
  await b.stop();
});
