import test from 'ava';
import { CustomObjectsApi } from '@kubernetes/client-node';
import pino from 'pino';
import { Operator } from '../../../operator/src/operator.js';
import { FakeKubeApiserver } from '../../fixtures/fake-kube-apiserver.js';
import { FakeServerClient } from './fake-server-client.js';

const logger = pino({ level: 'silent' });
const CR = { group: 'tfmirror.dev', version: 'v1alpha1', plural: 'providersets', namespace: 'ns' } as const;

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const body = (name: string) => ({
  apiVersion: 'tfmirror.dev/v1alpha1',
  kind: 'ProviderSet',
  metadata: { name },
  spec: { providers: [{ source: 'hashicorp/null', versions: ['3.2.0'], platforms: ['linux_amd64'] }] },
});

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
