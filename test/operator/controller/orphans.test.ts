import test from 'ava';
import { CustomObjectsApi } from '@kubernetes/client-node';
import pino from 'pino';
import { Controller } from '../../../operator/src/controller.js';
import { FakeKubeApiserver } from '../../fixtures/fake-kube-apiserver.js';
import { FakeServerClient } from './fake-server-client.js';
import { waitFor } from '../../fixtures/wait.js';
import { CR, providerSetBody } from './kube-objects.js';

const logger = pino({ level: 'silent' });


const body = providerSetBody;

const controller = (fake: FakeKubeApiserver, server: FakeServerClient, namespace?: string) =>
  new Controller({ kubeConfig: fake.kubeConfig(), server, logger, namespace, restartBackoffMs: { initial: 20, max: 100 } });

/** Two Retain sets reconciled by a first controller, which then stops; `gone` is deleted while nothing watches. */
async function deletedWhileDown(t: import('ava').ExecutionContext) {
  const fake = await FakeKubeApiserver.start();
  t.teardown(() => fake.close());
  const server = new FakeServerClient();
  const api = fake.kubeConfig().makeApiClient(CustomObjectsApi);
  const first = controller(fake, server);
  await first.start();
  await api.createNamespacedCustomObject({ ...CR, body: body('kept') });
  await api.createNamespacedCustomObject({ ...CR, body: body('gone') });
  await waitFor('both on the server', () => server.records.has('ns/kept') && server.records.has('ns/gone'));
  await first.stop();
  fake.deleteObject('ProviderSet', 'ns', 'gone');
  // A record `tfmirror apply` made: no object in the cluster stands behind it.
  await server.put('ns', 'laptop', { uid: 'apply:ns/laptop', generation: 1, kind: 'ProviderSet', spec: body('laptop').spec });
  return { fake, server };
}

test('the server record of a Retain object deleted while the operator was down is removed at the next start', async (t) => {
  const { fake, server } = await deletedWhileDown(t);
  const second = controller(fake, server);
  t.teardown(() => second.stop());
  await second.start();
  await waitFor('the orphaned record dropped', () => !server.records.has('ns/gone'));
  t.deepEqual(
    server.calls.filter((c) => c.method === 'DELETE').map((c) => [c.key, c.purge]),
    [['ns/gone', false]],
    'only the record: a Retain object keeps its content',
  );
  t.true(server.records.has('ns/kept'));
  t.true(server.records.has('ns/laptop'), "tfmirror apply's records are not the controller's to collect");
});

test('a record whose object still exists is never dropped, even when the first list failed', async (t) => {
  const { fake, server } = await deletedWhileDown(t);
  fake.failNext(3, 500, { verb: 'list', path: '/providersets' });
  const second = controller(fake, server);
  t.teardown(() => second.stop());
  await second.start();
  await waitFor('the orphaned record dropped after the informer recovered', () => !server.records.has('ns/gone'));
  t.deepEqual(server.calls.filter((c) => c.method === 'DELETE').map((c) => c.key), ['ns/gone']);
  t.true(server.records.has('ns/kept'));
});

test('a controller limited to one namespace leaves the records of other namespaces alone', async (t) => {
  const { fake, server } = await deletedWhileDown(t);
  const elsewhere = controller(fake, server, 'other');
  await elsewhere.start();
  await new Promise((r) => setTimeout(r, 300));
  await elsewhere.stop();
  t.is(server.count('DELETE'), 0);
  t.true(server.records.has('ns/gone'));
});

test('without the ModuleSet CRD (an upgrade that installed no new CRDs) the other kinds are reconciled and their orphans still collected', async (t) => {
  const { fake, server } = await deletedWhileDown(t);
  await server.put('ns', 'mods', { uid: 'uid-mods', generation: 1, kind: 'ModuleSet', spec: { modules: [{ source: 'acme/net/aws', versions: ['1.0.0'] }] } });
  fake.failNext(1_000_000, 404, { verb: 'list', path: '/modulesets' });
  const second = controller(fake, server);
  t.teardown(() => second.stop());
  await second.start();
  await waitFor('the orphaned record dropped', () => !server.records.has('ns/gone'));
  const api = fake.kubeConfig().makeApiClient(CustomObjectsApi);
  await api.createNamespacedCustomObject({ ...CR, body: body('later') });
  await waitFor('a new ProviderSet reconciled', () => server.records.has('ns/later'));
  await new Promise((r) => setTimeout(r, 200));
  t.true(server.records.has('ns/mods'), 'the records of a kind it cannot list are left alone');
  t.deepEqual(server.calls.filter((c) => c.method === 'DELETE').map((c) => c.key), ['ns/gone']);
});
