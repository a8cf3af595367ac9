import test from 'ava';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import pino from 'pino';
import { Controller, WATCHED_KINDS } from '../../../operator/src/controller.js';
import { FINALIZER } from '../../../operator/src/decide.js';
import { FakeKubeApiserver, type KubeObject } from '../../fixtures/fake-kube-apiserver.js';
import { FakeServerClient } from './fake-server-client.js';
import { waitFor } from '../../fixtures/wait.js';

const CR = { group: 'tfmirror.dev', version: 'v1alpha1', plural: 'providersets' } as const;
const logger = pino({ level: 'silent' });

interface Harness {
  fake: FakeKubeApiserver;
  api: CustomObjectsApi;
  server: FakeServerClient;
  controller: Controller;
}

async function withController(run: (h: Harness) => Promise<void>, options: { namespace?: string } = {}): Promise<void> {
  const fake = await FakeKubeApiserver.start();
  const server = new FakeServerClient();
  const controller = new Controller({
    kubeConfig: fake.kubeConfig(),
    server,
    logger,
    namespace: options.namespace,
    restartBackoffMs: { initial: 20, max: 200 },
  });
  try {
    await controller.start();
    await run({ fake, api: fake.kubeConfig().makeApiClient(CustomObjectsApi), server, controller });
  } finally {
    await controller.stop();
    await fake.close();
  }
}

function providerSet(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'tfmirror.dev/v1alpha1',
    kind: 'ProviderSet',
    metadata: { name },
    spec: { providers: [{ source: 'hashicorp/null', versions: ['3.2.0', '3.1.0'], platforms: ['linux_amd64'] }], ...spec },
  };
}


const stored = (fake: FakeKubeApiserver, name: string, kind = 'ProviderSet'): KubeObject | undefined =>
  fake.objects(kind).find((o) => o.metadata.name === name);
const statusOf = (fake: FakeKubeApiserver, name: string) =>
  stored(fake, name)?.status as { observedGeneration?: number; conditions?: { type: string; status: string; reason: string }[]; desired?: number; ready?: number } | undefined;
const conditionOf = (fake: FakeKubeApiserver, name: string, type: string) => statusOf(fake, name)?.conditions?.find((c) => c.type === type);
const statusPatches = (fake: FakeKubeApiserver) => fake.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/status')).length;

test('a new ProviderSet is sent to the server and becomes Ready with its observedGeneration', async (t) => {
  await withController(async ({ fake, api, server }) => {
    await api.createNamespacedCustomObject({ ...CR, namespace: 'ns', body: providerSet('a') });
    await waitFor('Ready', () => conditionOf(fake, 'a', 'Ready')?.status === 'True');
    t.like(statusOf(fake, 'a'), { observedGeneration: 1, desired: 2, ready: 2 });
    t.like(conditionOf(fake, 'a', 'Ready'), { reason: 'AllMirrored' });
    t.like(conditionOf(fake, 'a', 'Degraded'), { status: 'False' });
    const put = server.calls.find((c) => c.method === 'PUT');
    t.like(put?.body, { uid: stored(fake, 'a')?.metadata.uid as string, generation: 1, kind: 'ProviderSet' });
    await waitFor('an event', () => fake.events('ns').some((e) => e.reason === 'AllMirrored'));
    t.like(fake.events('ns').find((e) => e.reason === 'AllMirrored'), { type: 'Normal', involvedObject: { kind: 'ProviderSet', name: 'a' } });
  });
});

test('a spec edit is PUT again as generation 2 and reflected in observedGeneration', async (t) => {
  await withController(async ({ fake, api, server }) => {
    await api.createNamespacedCustomObject({ ...CR, namespace: 'ns', body: providerSet('a') });
    await waitFor('generation 1 observed', () => statusOf(fake, 'a')?.observedGeneration === 1);
    await api.patchNamespacedCustomObject(
      { ...CR, namespace: 'ns', name: 'a', body: { spec: { providers: [{ source: 'hashicorp/null', versions: ['3.2.0'], platforms: ['linux_amd64', 'darwin_arm64'] }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitFor('generation 2 observed', () => statusOf(fake, 'a')?.observedGeneration === 2);
    t.deepEqual(server.calls.filter((c) => c.method === 'PUT').map((c) => c.body?.generation), [1, 2]);
    t.like(conditionOf(fake, 'a', 'Ready'), { status: 'True' });
  });
});

test('passes that change nothing write no status', async (t) => {
  await withController(async ({ fake, api, server, controller }) => {
    await api.createNamespacedCustomObject({ ...CR, namespace: 'ns', body: providerSet('a') });
    await waitFor('Ready', () => conditionOf(fake, 'a', 'Ready')?.status === 'True');
    // our own status write comes back as an UPDATE and is reconciled once more
    await waitFor('settled', () => server.count('GET') >= 2 && controller.queue.length === 0);
    await new Promise((r) => setTimeout(r, 50));
    const patches = statusPatches(fake);
    const gets = server.count('GET');
    for (let i = 0; i < 3; i += 1) {
      controller.queue.add('ProviderSet/ns/a');
      await waitFor('another pass', () => server.count('GET') === gets + i + 1);
    }
    await new Promise((r) => setTimeout(r, 50));
    t.is(statusPatches(fake), patches);
    t.is(server.count('PUT'), 1);
  });
});

test('deletionPolicy Delete adds the finalizer, and deleting purges on the server before the object goes', async (t) => {
  await withController(async ({ fake, api, server }) => {
    await api.createNamespacedCustomObject({ ...CR, namespace: 'ns', body: providerSet('d', { deletionPolicy: 'Delete' }) });
    await waitFor('finalizer', () => ((stored(fake, 'd')?.metadata.finalizers as string[] | undefined) ?? []).includes(FINALIZER));
    await waitFor('Ready', () => conditionOf(fake, 'd', 'Ready')?.status === 'True');
    await api.deleteNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'd' });
    await waitFor('object gone', () => stored(fake, 'd') === undefined);
    const purge = server.calls.find((c) => c.method === 'DELETE');
    t.like(purge, { key: 'ns/d', purge: true });
    t.false(server.records.has('ns/d'));
  });
});

test('a ProviderSet with Retain gets no finalizer and its deletion keeps the packages', async (t) => {
  await withController(async ({ fake, api, server }) => {
    await api.createNamespacedCustomObject({ ...CR, namespace: 'ns', body: providerSet('r') });
    await waitFor('Ready', () => conditionOf(fake, 'r', 'Ready')?.status === 'True');
    t.is(stored(fake, 'r')?.metadata.finalizers, undefined);
    await api.deleteNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'r' });
    await waitFor('server record released', () => server.count('DELETE') === 1);
    t.like(server.calls.find((c) => c.method === 'DELETE'), { purge: false });
  });
});

test('an invalid spec is reported as Degraded InvalidSpec and not retried', async (t) => {
  await withController(async ({ fake, api, server, controller }) => {
    await api.createNamespacedCustomObject({ ...CR, namespace: 'ns', body: providerSet('bad', { invalid: true }) });
    await waitFor('Degraded', () => conditionOf(fake, 'bad', 'Degraded')?.reason === 'InvalidSpec');
    t.like(conditionOf(fake, 'bad', 'Ready'), { status: 'False', reason: 'InvalidSpec' });
    controller.queue.add('ProviderSet/ns/bad');
    await new Promise((r) => setTimeout(r, 100));
    t.is(server.count('PUT'), 1);
    await waitFor('warning event', () => fake.events('ns').some((e) => e.reason === 'InvalidSpec' && e.type === 'Warning'));
  });
});

test('a running job is polled until it finishes', async (t) => {
  await withController(async ({ fake, api, server }) => {
    server.jobOutcome = 'running';
    await api.createNamespacedCustomObject({ ...CR, namespace: 'ns', body: providerSet('slow') });
    await waitFor('Progressing', () => conditionOf(fake, 'slow', 'Progressing')?.status === 'True');
    t.like(conditionOf(fake, 'slow', 'Ready'), { status: 'False', reason: 'Mirroring' });
    server.finish('ns', 'slow');
    await waitFor('Ready after the next poll', () => conditionOf(fake, 'slow', 'Ready')?.status === 'True', 6000);
    t.is(server.count('PUT'), 1);
  });
});

test('an unreachable server is retried with backoff', async (t) => {
  await withController(async ({ fake, api, server }) => {
    server.unavailable = 3;
    await api.createNamespacedCustomObject({ ...CR, namespace: 'ns', body: providerSet('a') });
    await waitFor('Ready', () => conditionOf(fake, 'a', 'Ready')?.status === 'True');
    t.is(server.unavailable, 0);
  });
});

test('the informers recover after their watch connections are cut', async (t) => {
  await withController(async ({ fake, api }) => {
    await waitFor('watches open', () => fake.openWatches === WATCHED_KINDS.length);
    fake.destroyWatches();
    await waitFor('watches reopened', () => fake.openWatches === WATCHED_KINDS.length);
    await api.createNamespacedCustomObject({ ...CR, namespace: 'ns', body: providerSet('after') });
    await waitFor('Ready', () => conditionOf(fake, 'after', 'Ready')?.status === 'True');
    t.pass();
  });
});

test('the informers recover after a failed list', async (t) => {
  await withController(async ({ fake, api }) => {
    await waitFor('watches open', () => fake.openWatches === WATCHED_KINDS.length);
    fake.failNext(2, 503, { method: 'GET', path: '/providersets' });
    fake.expireHistory(); // the next watch gets 410, so the informer relists, and that list fails
    fake.closeWatches();
    await api.createNamespacedCustomObject({ ...CR, namespace: 'ns', body: providerSet('later') });
    await waitFor('Ready', () => conditionOf(fake, 'later', 'Ready')?.status === 'True');
    t.pass();
  });
});

test('a controller limited to one namespace ignores the others', async (t) => {
  await withController(
    async ({ fake, api, server }) => {
      await api.createNamespacedCustomObject({ ...CR, namespace: 'other', body: providerSet('x') });
      await api.createNamespacedCustomObject({ ...CR, namespace: 'mine', body: providerSet('y') });
      await waitFor('Ready', () => conditionOf(fake, 'y', 'Ready')?.status === 'True');
      t.deepEqual(server.calls.filter((c) => c.method === 'PUT').map((c) => c.key), ['mine/y']);
    },
    { namespace: 'mine' },
  );
});

const MODULE_SETS = { group: 'tfmirror.dev', version: 'v1alpha1', plural: 'modulesets' } as const;

function moduleSet(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'tfmirror.dev/v1alpha1',
    kind: 'ModuleSet',
    metadata: { name },
    spec: { modules: [{ source: 'terraform-aws-modules/vpc/aws', versions: ['5.1.0', '5.2.0'] }], ...spec },
  };
}

const moduleSetCondition = (fake: FakeKubeApiserver, name: string, type: string) =>
  ((stored(fake, name, 'ModuleSet')?.status as { conditions?: { type: string; status: string; reason: string; message: string }[] } | undefined)?.conditions ?? []).find(
    (c) => c.type === type,
  );

test('a new ModuleSet is sent to the server as kind ModuleSet and becomes Ready, counting module versions', async (t) => {
  await withController(async ({ fake, api, server }) => {
    await api.createNamespacedCustomObject({ ...MODULE_SETS, namespace: 'ns', body: moduleSet('mods') });
    await waitFor('Ready', () => moduleSetCondition(fake, 'mods', 'Ready')?.status === 'True');
    t.like(stored(fake, 'mods', 'ModuleSet')?.status, { observedGeneration: 1, desired: 2, ready: 2, failed: 0 });
    t.like(moduleSetCondition(fake, 'mods', 'Ready'), { reason: 'AllMirrored', message: 'all 2 module versions mirrored' });
    const put = server.calls.find((c) => c.method === 'PUT');
    t.like(put?.body, { uid: stored(fake, 'mods', 'ModuleSet')?.metadata.uid as string, generation: 1, kind: 'ModuleSet' });
    t.deepEqual(server.specs.get('ns/mods'), (moduleSet('mods') as { spec: unknown }).spec);
    await waitFor('an event', () => fake.events('ns').some((e) => e.reason === 'AllMirrored'));
    t.like(fake.events('ns').find((e) => e.reason === 'AllMirrored'), { involvedObject: { kind: 'ModuleSet', name: 'mods' } });
  });
});

test('a ModuleSet with deletionPolicy Delete gets the finalizer, and deleting it purges on the server first', async (t) => {
  await withController(async ({ fake, api, server }) => {
    await api.createNamespacedCustomObject({ ...MODULE_SETS, namespace: 'ns', body: moduleSet('gone', { deletionPolicy: 'Delete' }) });
    await waitFor('finalizer', () => ((stored(fake, 'gone', 'ModuleSet')?.metadata.finalizers as string[] | undefined) ?? []).includes(FINALIZER));
    await waitFor('Ready', () => moduleSetCondition(fake, 'gone', 'Ready')?.status === 'True');
    await api.deleteNamespacedCustomObject({ ...MODULE_SETS, namespace: 'ns', name: 'gone' });
    await waitFor('object gone', () => stored(fake, 'gone', 'ModuleSet') === undefined);
    t.like(server.calls.find((c) => c.method === 'DELETE'), { key: 'ns/gone', purge: true });
    t.false(server.records.has('ns/gone'));
  });
});

test('a ProviderMirror is mirrored and reports its resolved versions', async (t) => {
  await withController(async ({ fake, api }) => {
    await api.createNamespacedCustomObject({
      group: 'tfmirror.dev', version: 'v1alpha1', plural: 'providermirrors', namespace: 'ns',
      body: { apiVersion: 'tfmirror.dev/v1alpha1', kind: 'ProviderMirror', metadata: { name: 'm' }, spec: { source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['linux_amd64'], syncInterval: '6h' } },
    });
    await waitFor('Ready', () => ((stored(fake, 'm', 'ProviderMirror')?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
    t.like(stored(fake, 'm', 'ProviderMirror')?.status, { resolvedVersions: ['5.31.0'], observedGeneration: 1 });
  });
});
