import test from 'ava';
import { ApiException, CoordinationV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { FakeKubeApiserver } from '../fixtures/fake-kube-apiserver.js';

const CR = { group: 'tfmirror.dev', version: 'v1alpha1', plural: 'providersets', namespace: 'ns' } as const;

test('delayNext holds only the matching verb: a list waits, a get of the same resource does not', async (t) => {
  const fake = await FakeKubeApiserver.start();
  t.teardown(() => fake.close());
  const api = fake.kubeConfig().makeApiClient(CustomObjectsApi);
  await api.createNamespacedCustomObject({ ...CR, body: { apiVersion: 'tfmirror.dev/v1alpha1', kind: 'ProviderSet', metadata: { name: 'a' }, spec: {} } });
  fake.delayNext(1, 400, { verb: 'list', path: '/providersets' });
  let started = Date.now();
  await api.getNamespacedCustomObject({ ...CR, name: 'a' });
  t.true(Date.now() - started < 300, 'the get was not held');
  started = Date.now();
  const list = (await api.listNamespacedCustomObject(CR)) as { items: unknown[] };
  t.true(Date.now() - started >= 380, 'the list was held');
  t.is(list.items.length, 1);
  started = Date.now();
  await api.listNamespacedCustomObject(CR);
  t.true(Date.now() - started < 300, 'only the next one');
});

test('failNext with bodyIncludes fails only the writes carrying that text', async (t) => {
  const fake = await FakeKubeApiserver.start();
  t.teardown(() => fake.close());
  const leases = fake.kubeConfig().makeApiClient(CoordinationV1Api);
  const lease = (holderIdentity: string) => ({ metadata: { name: holderIdentity, namespace: 'ns' }, spec: { holderIdentity } });
  fake.failNext(10, 503, { verb: 'create', path: '/leases', bodyIncludes: '"holderIdentity":"pod-a"' });
  const err = await t.throwsAsync(leases.createNamespacedLease({ namespace: 'ns', body: lease('pod-a') }));
  t.true(err instanceof ApiException && err.code === 503);
  await leases.createNamespacedLease({ namespace: 'ns', body: lease('pod-b') });
  t.deepEqual(fake.objects('Lease', 'ns').map((o) => o.metadata.name), ['pod-b']);
});
