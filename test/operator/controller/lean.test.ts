import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { CustomObjectsApi, KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import pino from 'pino';
import { Controller } from '../../../operator/src/controller.js';
import { LAST_APPLIED, makeLeanInformer } from '../../../operator/src/informer.js';
import { withKeepAlive } from '../../../operator/src/kube.js';
import { FakeKubeApiserver } from '../../fixtures/fake-kube-apiserver.js';
import { waitFor } from '../../fixtures/wait.js';
import { FakeServerClient } from './fake-server-client.js';

const CR = { group: 'tfmirror.dev', version: 'v1alpha1', plural: 'providersets', namespace: 'ns' } as const;
const PATH = '/apis/tfmirror.dev/v1alpha1/providersets';

/** As a real apiserver holds an object `kubectl apply` created. */
function applied(name: string): Record<string, unknown> {
  return {
    apiVersion: 'tfmirror.dev/v1alpha1',
    kind: 'ProviderSet',
    metadata: {
      name,
      annotations: { [LAST_APPLIED]: '{"kind":"ProviderSet"}\n', 'team.example/owner': 'infra' },
      managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
    },
    spec: { providers: [{ source: 'hashicorp/null', versions: ['3.2.0'], platforms: ['linux_amd64'] }] },
  };
}

test('the informer cache holds objects without managedFields or the last-applied annotation, from the list and from the watch', async (t) => {
  const fake = await FakeKubeApiserver.start();
  const kc = fake.kubeConfig();
  const api = kc.makeApiClient(CustomObjectsApi);
  const list = () => api.listClusterCustomObject({ group: CR.group, version: CR.version, plural: CR.plural }) as Promise<KubernetesListObject<KubernetesObject>>;
  const informer = makeLeanInformer(kc, PATH, list);
  const added: KubernetesObject[] = [];
  informer.on('add', (o) => added.push(o));
  try {
    await api.createNamespacedCustomObject({ ...CR, body: applied('listed') });
    await informer.start();
    await api.createNamespacedCustomObject({ ...CR, body: applied('watched') });
    await waitFor('the watched object in the cache', () => informer.get('watched', 'ns') !== undefined);
    for (const name of ['listed', 'watched']) {
      const cached = informer.get(name, 'ns')!;
      t.is(cached.metadata?.managedFields, undefined, name);
      t.deepEqual(cached.metadata?.annotations, { 'team.example/owner': 'infra' }, name);
      t.truthy((cached as { spec?: unknown }).spec, name);
    }
    t.deepEqual(added.map((o) => o.metadata?.name), ['listed', 'watched']);
    // What the apiserver stores is untouched.
    t.truthy(fake.objects('ProviderSet')[0]!.metadata.managedFields);
  } finally {
    await informer.stop();
    await fake.close();
  }
});

test('a reconcile reads the object from the informer cache, not with a GET per object', async (t) => {
  const fake = await FakeKubeApiserver.start();
  const server = new FakeServerClient();
  const controller = new Controller({ kubeConfig: fake.kubeConfig(), server, logger: pino({ level: 'silent' }) });
  try {
    await controller.start();
    const api = fake.kubeConfig().makeApiClient(CustomObjectsApi);
    for (const name of ['a', 'b', 'c']) await api.createNamespacedCustomObject({ ...CR, body: applied(name) });
    const ready = (name: string) =>
      ((fake.objects('ProviderSet').find((o) => o.metadata.name === name)?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
        (c) => c.type === 'Ready' && c.status === 'True',
      );
    await waitFor('all three Ready', () => ['a', 'b', 'c'].every(ready));
    const objectGets = fake.requests.filter((r) => r.method === 'GET' && /\/providersets\/[^/]+$/.test(r.path));
    t.deepEqual(objectGets, []);
  } finally {
    await controller.stop();
    await fake.close();
  }
});

test('with keep-alive, the kube client sends its requests over one connection instead of one each', async (t) => {
  const connections = async (keepAlive: boolean): Promise<number> => {
    let count = 0;
    const server = http.createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'tfmirror.dev/v1alpha1', kind: 'ProviderSet', metadata: { name: 'x', namespace: 'ns' } }));
    });
    server.on('connection', () => (count += 1));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    if (keepAlive) withKeepAlive(kc);
    const api = kc.makeApiClient(CustomObjectsApi);
    try {
      for (let i = 0; i < 5; i += 1) await api.getNamespacedCustomObject({ ...CR, name: 'x' });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    return count;
  };
  t.is(await connections(false), 5);
  t.is(await connections(true), 1);
});
