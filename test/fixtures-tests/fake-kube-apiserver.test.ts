import test from 'ava';
import {
  ADD,
  ApiException,
  CONNECT,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DELETE,
  ERROR,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  UPDATE,
  V1MicroTime,
  Watch,
  makeInformer,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { FakeKubeApiserver, type FakeKubeOptions } from '../fixtures/fake-kube-apiserver.js';
import { waitFor as waitUntil } from '../fixtures/wait.js';

const CR = { group: 'tfmirror.dev', version: 'v1alpha1', plural: 'providersets' } as const;
const NOW = new Date('2026-01-02T03:04:05.678Z');
const mergePatch = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = () => setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

interface Obj {
  metadata: Record<string, any>;
  spec?: any;
  status?: any;
  [key: string]: any;
}

async function withFake(
  options: FakeKubeOptions,
  run: (fake: FakeKubeApiserver, api: CustomObjectsApi) => Promise<void>,
): Promise<void> {
  const fake = await FakeKubeApiserver.start({ now: () => NOW, ...options });
  try {
    await run(fake, fake.kubeConfig().makeApiClient(CustomObjectsApi));
  } finally {
    await fake.close();
  }
}

function providerSet(name: string, extra: Partial<Obj> = {}): Obj {
  return {
    apiVersion: 'tfmirror.dev/v1alpha1',
    kind: 'ProviderSet',
    metadata: { name, ...extra.metadata },
    spec: { providers: [{ source: 'hashicorp/null' }], ...extra.spec },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

const create = (api: CustomObjectsApi, namespace: string, body: Obj): Promise<Obj> =>
  api.createNamespacedCustomObject({ ...CR, namespace, body });
const get = (api: CustomObjectsApi, namespace: string, name: string): Promise<Obj> =>
  api.getNamespacedCustomObject({ ...CR, namespace, name });

/** The client leaves an error's body as the raw response text, so the Status is parsed here. */
async function apiError(promise: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) {
      return { code: err.code, body: typeof err.body === 'string' ? JSON.parse(err.body) : err.body };
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

const waitFor = (what: string, predicate: () => boolean, timeoutMs = 3000) => waitUntil(what, predicate, timeoutMs);

test('discovery lets the generic object client find the custom resource plural', async (t) => {
  await withFake({}, async (fake) => {
    const objects = KubernetesObjectApi.makeApiClient(fake.kubeConfig());
    const created = await objects.create({ ...providerSet('via-discovery'), metadata: { name: 'via-discovery', namespace: 'ns' } } as KubernetesObject);
    t.truthy(created.metadata?.uid);
    t.true(fake.requests.some((r) => r.path === '/apis/tfmirror.dev/v1alpha1'));
    const apis = (await (await fetch(`${fake.url}/apis`)).json()) as { groups: { name: string }[] };
    t.deepEqual(apis.groups.map((g) => g.name).sort(), ['coordination.k8s.io', 'tfmirror.dev']);
    const core = (await (await fetch(`${fake.url}/api/v1`)).json()) as { resources: { name: string }[] };
    t.deepEqual(core.resources.map((r) => r.name), ['events']);
    const crs = (await (await fetch(`${fake.url}/apis/tfmirror.dev/v1alpha1`)).json()) as { resources: { name: string }[] };
    t.deepEqual(crs.resources.map((r) => r.name), ['providersets', 'providersets/status', 'providermirrors', 'providermirrors/status', 'modulesets', 'modulesets/status']);
  });
});

test('create sets uid, resourceVersion, generation 1 and creationTimestamp, and drops status', async (t) => {
  await withFake({}, async (fake, api) => {
    const created = await create(api, 'ns', providerSet('a', { status: { observedGeneration: 7 } }));
    t.like(created.metadata, { name: 'a', namespace: 'ns', generation: 1, resourceVersion: '1', creationTimestamp: '2026-01-02T03:04:05Z' });
    t.regex(created.metadata.uid, /^[0-9a-f-]{36}$/);
    t.is(created.status, undefined);
    t.deepEqual(await get(api, 'ns', 'a'), created);
    t.is(fake.objects('ProviderSet').length, 1);
  });
});

test('creating an existing name is 409 AlreadyExists and a missing object is 404 NotFound', async (t) => {
  await withFake({}, async (_fake, api) => {
    await create(api, 'ns', providerSet('a'));
    const exists = await apiError(create(api, 'ns', providerSet('a')));
    t.is(exists.code, 409);
    t.like(exists.body, { kind: 'Status', status: 'Failure', reason: 'AlreadyExists', code: 409 });
    const missing = await apiError(get(api, 'ns', 'nope'));
    t.is(missing.code, 404);
    t.like(missing.body, { reason: 'NotFound', details: { name: 'nope', group: 'tfmirror.dev', kind: 'providersets' } });
  });
});

test('a body that is not an object is 400 and one without a name is 422 Invalid', async (t) => {
  await withFake({}, async (fake) => {
    const post = (body: string) =>
      fetch(`${fake.url}/apis/tfmirror.dev/v1alpha1/namespaces/ns/providersets`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const bad = await post('{not json');
    t.is(bad.status, 400);
    const nameless = await post(JSON.stringify({ spec: {} }));
    t.is(nameless.status, 422);
    t.like(await nameless.json(), { kind: 'Status', reason: 'Invalid', code: 422 });
  });
});

test('list is per namespace or across namespaces and carries the global resourceVersion', async (t) => {
  await withFake({}, async (_fake, api) => {
    await create(api, 'a', providerSet('one'));
    await create(api, 'b', providerSet('two'));
    await create(api, 'b', providerSet('three'));
    const inB = await api.listNamespacedCustomObject({ ...CR, namespace: 'b' });
    t.is(inB.kind, 'ProviderSetList');
    t.deepEqual(inB.items.map((i: Obj) => i.metadata.name), ['three', 'two']);
    const all = await api.listClusterCustomObject(CR);
    t.is(all.items.length, 3);
    t.is(all.metadata.resourceVersion, '3');
  });
});

test('a merge patch needs the Content-Type header option and a spec change bumps generation', async (t) => {
  await withFake({}, async (fake, api) => {
    await create(api, 'ns', providerSet('a', { metadata: { labels: { keep: 'yes' } } }));
    const patched: Obj = await api.patchNamespacedCustomObject(
      { ...CR, namespace: 'ns', name: 'a', body: { metadata: { labels: { added: 'x' } }, spec: { deletionPolicy: 'Delete' } } },
      mergePatch(),
    );
    t.deepEqual(patched.metadata.labels, { keep: 'yes', added: 'x' });
    t.is(patched.spec.deletionPolicy, 'Delete');
    t.deepEqual(patched.spec.providers, [{ source: 'hashicorp/null' }]);
    t.is(patched.metadata.generation, 2);
    t.is(fake.requests.at(-1)?.contentType, 'application/merge-patch+json');
  });
});

test('without a header option the client sends a patch as application/json-patch+json', async (t) => {
  await withFake({}, async (fake, api) => {
    await create(api, 'ns', providerSet('a'));
    const err = await apiError(api.patchNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a', body: { spec: { deletionPolicy: 'Delete' } } }));
    t.is(fake.requests.at(-1)?.contentType, 'application/json-patch+json');
    t.is(err.code, 400);
    const ok: Obj = await api.patchNamespacedCustomObject({
      ...CR, namespace: 'ns', name: 'a', body: [{ op: 'add', path: '/spec/deletionPolicy', value: 'Delete' }],
    });
    t.is(ok.spec.deletionPolicy, 'Delete');
  });
});

test('a metadata-only change keeps the generation and a no-op patch keeps the resourceVersion', async (t) => {
  await withFake({}, async (_fake, api) => {
    await create(api, 'ns', providerSet('a'));
    const labelled: Obj = await api.patchNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a', body: { metadata: { labels: { l: '1' } } } }, mergePatch());
    t.is(labelled.metadata.generation, 1);
    t.is(labelled.metadata.resourceVersion, '2');
    const again: Obj = await api.patchNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a', body: { metadata: { labels: { l: '1' } } } }, mergePatch());
    t.is(again.metadata.resourceVersion, '2');
  });
});

test('status writes go through /status only and never bump the generation', async (t) => {
  await withFake({}, async (_fake, api) => {
    await create(api, 'ns', providerSet('a'));
    const viaStatus: Obj = await api.patchNamespacedCustomObjectStatus(
      { ...CR, namespace: 'ns', name: 'a', body: { status: { observedGeneration: 1 }, spec: { deletionPolicy: 'Delete' } } },
      mergePatch(),
    );
    t.deepEqual(viaStatus.status, { observedGeneration: 1 });
    t.is(viaStatus.spec.deletionPolicy, undefined);
    t.is(viaStatus.metadata.generation, 1);
    const viaMain: Obj = await api.patchNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a', body: { status: { observedGeneration: 99 } } }, mergePatch());
    t.deepEqual(viaMain.status, { observedGeneration: 1 });
    const replaced: Obj = await api.replaceNamespacedCustomObjectStatus({
      ...CR, namespace: 'ns', name: 'a', body: { ...viaMain, status: { observedGeneration: 1, ready: 3 } },
    });
    t.deepEqual(replaced.status, { observedGeneration: 1, ready: 3 });
    t.is(replaced.metadata.generation, 1);
  });
});

test('a JSON patch on /status changes only status and a PUT of the object ignores status', async (t) => {
  await withFake({}, async (_fake, api) => {
    await create(api, 'ns', providerSet('a'));
    const withStatus: Obj = await api.patchNamespacedCustomObjectStatus(
      { ...CR, namespace: 'ns', name: 'a', body: [{ op: 'add', path: '/status', value: { ready: 1 } }, { op: 'add', path: '/metadata/labels', value: { x: 'y' } }] },
      jsonPatch(),
    );
    t.deepEqual(withStatus.status, { ready: 1 });
    t.is(withStatus.metadata.labels, undefined);
    const put: Obj = await api.replaceNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a', body: { ...withStatus, status: { ready: 0 } } });
    t.deepEqual(put.status, { ready: 1 });
    t.is(put.metadata.generation, 1);
  });
});

test('a watch from a resourceVersion older than the history is answered 410 Expired', async (t) => {
  await withFake({ historyLimit: 2 }, async (fake, api) => {
    for (const name of ['a', 'b', 'c', 'd']) await create(api, 'ns', providerSet(name));
    const watchFrom = (rv: string) => fetch(`${fake.url}/apis/tfmirror.dev/v1alpha1/providersets?watch=1&resourceVersion=${rv}`);
    const stillKept = await watchFrom('2'); // events 3 and 4 are still in the history
    t.is(stillKept.status, 200);
    await stillKept.body?.cancel();
    const expired = await watchFrom('1');
    t.is(expired.status, 410);
    t.like(await expired.json(), { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 });
  });
});

test('an update with a stale resourceVersion is 409 Conflict and one without is 422', async (t) => {
  await withFake({}, async (_fake, api) => {
    const original = await create(api, 'ns', providerSet('a'));
    const fresh: Obj = await api.replaceNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a', body: { ...original, spec: { hcl: 'x' } } });
    t.is(fresh.metadata.generation, 2);
    const stale = await apiError(api.replaceNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a', body: { ...original, spec: { hcl: 'y' } } }));
    t.is(stale.code, 409);
    t.like(stale.body, { reason: 'Conflict' });
    t.regex(stale.body.message, /the object has been modified/);
    const { resourceVersion: _rv, ...noRv } = fresh.metadata;
    const unconditional = await apiError(api.replaceNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a', body: { ...fresh, metadata: noRv } }));
    t.is(unconditional.code, 422);
  });
});

test('deleting an object with a finalizer marks it and removing the last finalizer removes it', async (t) => {
  await withFake({}, async (fake, api) => {
    await create(api, 'ns', providerSet('a', { metadata: { finalizers: ['tfmirror.dev/cleanup'] } }));
    const marked: Obj = await api.deleteNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a' });
    t.is(marked.metadata.deletionTimestamp, '2026-01-02T03:04:05Z');
    t.is(marked.metadata.resourceVersion, '2');
    t.is(fake.objects('ProviderSet').length, 1);
    const adding = await apiError(
      api.patchNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a', body: [{ op: 'add', path: '/metadata/finalizers/-', value: 'other' }] }, jsonPatch()),
    );
    t.is(adding.code, 422);
    const failedTest = await apiError(
      api.patchNamespacedCustomObject(
        { ...CR, namespace: 'ns', name: 'a', body: [{ op: 'test', path: '/metadata/finalizers', value: ['x'] }, { op: 'remove', path: '/metadata/finalizers' }] },
        jsonPatch(),
      ),
    );
    t.is(failedTest.code, 422);
    await api.patchNamespacedCustomObject(
      {
        ...CR, namespace: 'ns', name: 'a',
        body: [{ op: 'test', path: '/metadata/finalizers', value: ['tfmirror.dev/cleanup'] }, { op: 'replace', path: '/metadata/finalizers', value: [] }],
      },
      jsonPatch(),
    );
    t.deepEqual(fake.objects('ProviderSet'), []);
    t.is((await apiError(get(api, 'ns', 'a'))).code, 404);
  });
});

test('deleting an object without finalizers removes it at once', async (t) => {
  await withFake({}, async (fake, api) => {
    await create(api, 'ns', providerSet('a'));
    await api.deleteNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a' });
    t.deepEqual(fake.objects('ProviderSet'), []);
  });
});

test('a watch replays events after its resourceVersion, then streams live ones and bookmarks', async (t) => {
  await withFake({ bookmarkIntervalMs: 0 }, async (fake, api) => {
    await create(api, 'ns', providerSet('a'));
    await create(api, 'ns', providerSet('b'));
    const seen: string[] = [];
    const watch = new Watch(fake.kubeConfig());
    const controller = await watch.watch(
      '/apis/tfmirror.dev/v1alpha1/namespaces/ns/providersets',
      { resourceVersion: '1', allowWatchBookmarks: true },
      (type, obj: Obj) => seen.push(`${type} ${obj.metadata.name ?? ''}@${obj.metadata.resourceVersion as string}`),
      () => {},
    );
    await waitFor('replay', () => seen.length === 1);
    await api.deleteNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a' });
    await waitFor('live delete', () => seen.length === 2);
    fake.sendBookmarks();
    await waitFor('bookmark', () => seen.length === 3);
    t.deepEqual(seen, ['ADDED b@2', 'DELETED a@3', 'BOOKMARK @3']);
    controller.abort();
  });
});

test('bookmarks arrive periodically at the configured interval', async (t) => {
  await withFake({ bookmarkIntervalMs: 20 }, async (fake) => {
    const types: string[] = [];
    const controller = await new Watch(fake.kubeConfig()).watch(
      '/apis/tfmirror.dev/v1alpha1/providersets', { allowWatchBookmarks: true }, (type) => types.push(type), () => {},
    );
    await waitFor('two bookmarks', () => types.length >= 2);
    t.deepEqual(types.slice(0, 2), ['BOOKMARK', 'BOOKMARK']);
    controller.abort();
  });
});

function informerFor(fake: FakeKubeApiserver, api: CustomObjectsApi, namespace = 'ns') {
  const informer = makeInformer<Obj & KubernetesObject>(
    fake.kubeConfig(),
    `/apis/tfmirror.dev/v1alpha1/namespaces/${namespace}/providersets`,
    () => api.listNamespacedCustomObject({ ...CR, namespace }),
  );
  const log: string[] = [];
  const errors: unknown[] = [];
  informer.on(ADD, (o) => log.push(`add ${o.metadata.name as string}`));
  informer.on(UPDATE, (o) => log.push(`update ${o.metadata.name as string}`));
  informer.on(DELETE, (o) => log.push(`delete ${o.metadata.name as string}`));
  informer.on(ERROR, (e) => errors.push(e));
  let connects = 0;
  informer.on(CONNECT, () => (connects += 1));
  const lists = () => fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/providersets') && r.query.watch === undefined).length;
  const watches = () => fake.requests.filter((r) => r.query.watch === 'true').length;
  return { informer, log, errors, lists, watches, connects: () => connects };
}

test('an informer sees adds, updates and deletes through its watch', async (t) => {
  await withFake({}, async (fake, api) => {
    await create(api, 'ns', providerSet('before'));
    const { informer, log, errors } = informerFor(fake, api);
    await informer.start();
    await waitFor('watch open', () => fake.openWatches === 1);
    await create(api, 'ns', providerSet('a'));
    await create(api, 'other', providerSet('elsewhere'));
    await api.patchNamespacedCustomObjectStatus({ ...CR, namespace: 'ns', name: 'a', body: { status: { ready: 1 } } }, mergePatch());
    await api.deleteNamespacedCustomObject({ ...CR, namespace: 'ns', name: 'a' });
    await waitFor('three events', () => log.length === 4);
    t.deepEqual(log, ['add before', 'add a', 'update a', 'delete a']);
    t.deepEqual(informer.list().map((o) => o.metadata.name), ['before']);
    t.deepEqual(errors, []);
    await informer.stop();
  });
});

test('stopping an informer closes its watch and reports an AbortError to its error handlers', async (t) => {
  await withFake({}, async (fake, api) => {
    const { informer, errors, watches } = informerFor(fake, api);
    await informer.start();
    await waitFor('watch open', () => fake.openWatches === 1);
    await informer.stop();
    await waitFor('watch closed', () => fake.openWatches === 0);
    await waitFor('error', () => errors.length === 1);
    t.is((errors[0] as Error).name, 'AbortError');
    t.is(watches(), 1);
  });
});

test('an informer rewatches from its resourceVersion without relisting when the watch is closed', async (t) => {
  await withFake({}, async (fake, api) => {
    const { informer, log, lists, watches, errors } = informerFor(fake, api);
    await informer.start();
    await waitFor('watch open', () => fake.openWatches === 1);
    await create(api, 'ns', providerSet('a'));
    await waitFor('add', () => log.length === 1);
    fake.closeWatches();
    await waitFor('rewatch', () => watches() === 2 && fake.openWatches === 1);
    t.is(fake.requests.filter((r) => r.query.watch === 'true').at(-1)?.query.resourceVersion, '1');
    await create(api, 'ns', providerSet('b'));
    await waitFor('add after rewatch', () => log.length === 2);
    t.is(lists(), 1);
    t.deepEqual(errors, []);
    await informer.stop();
  });
});

for (const expiredWatchAs of ['http', 'event'] as const) {
  test(`an informer relists after a 410 Expired sent as ${expiredWatchAs === 'http' ? 'an HTTP status' : 'a watch ERROR event'}`, async (t) => {
    await withFake({ expiredWatchAs }, async (fake, api) => {
      await create(api, 'ns', providerSet('gone-later'));
      const { informer, log, lists, errors } = informerFor(fake, api);
      await informer.start();
      await waitFor('watch open', () => fake.openWatches === 1);
      fake.closeWatches();
      // while disconnected: a delete the informer can only learn from a relist
      fake.deleteObject('ProviderSet', 'ns', 'gone-later');
      fake.expireHistory();
      await waitFor('relist', () => lists() === 2 && fake.openWatches === 1);
      t.deepEqual(log, ['add gone-later', 'delete gone-later']);
      t.deepEqual(errors, []);
      await informer.stop();
    });
  });
}

test('an informer reports a cut connection as an error and stops watching', async (t) => {
  await withFake({}, async (fake, api) => {
    const { informer, errors, watches } = informerFor(fake, api);
    await informer.start();
    await waitFor('watch open', () => fake.openWatches === 1);
    fake.destroyWatches();
    await waitFor('error', () => errors.length === 1);
    t.regex(String(errors[0]), /Premature close/);
    await new Promise((r) => setTimeout(r, 50));
    t.is(watches(), 1);
    await informer.start();
    await waitFor('restarted', () => fake.openWatches === 1);
    await informer.stop();
  });
});

test('an informer whose list fails reports the error and does not retry by itself', async (t) => {
  await withFake({}, async (fake, api) => {
    fake.failNext(1, 503, { method: 'GET', path: '/providersets' });
    const { informer, errors, lists } = informerFor(fake, api);
    await informer.start();
    await waitFor('error', () => errors.length === 1);
    const err = errors[0] as ApiException<string>;
    t.true(err instanceof ApiException);
    t.is(err.code, 503);
    t.is(typeof err.body, 'string'); // the raw Status text, not an object
    t.like(JSON.parse(err.body), { kind: 'Status', code: 503 });
    await new Promise((r) => setTimeout(r, 50));
    t.is(lists(), 1);
    t.is(fake.openWatches, 0);
  });
});

test('a lease create then a replace from a stale copy is 409 Conflict', async (t) => {
  await withFake({}, async (fake) => {
    const leases = fake.kubeConfig().makeApiClient(CoordinationV1Api);
    const created = await leases.createNamespacedLease({
      namespace: 'ns',
      body: { metadata: { name: 'tfmirror-operator' }, spec: { holderIdentity: 'pod-a', leaseDurationSeconds: 15, renewTime: new V1MicroTime(NOW) } },
    });
    t.is(created.metadata?.resourceVersion, '1');
    // V1MicroTime serialises with microseconds, but the response is not turned back into a Date
    t.is((fake.objects('Lease')[0]?.spec as { renewTime?: unknown } | undefined)?.renewTime, '2026-01-02T03:04:05.678000Z');
    t.is(typeof created.spec?.renewTime, 'string');
    const renewed = await leases.replaceNamespacedLease({ name: 'tfmirror-operator', namespace: 'ns', body: { ...created, spec: { ...created.spec, holderIdentity: 'pod-a', leaseTransitions: 0 } } });
    t.is(renewed.metadata?.resourceVersion, '2');
    const stolen = await apiError(leases.replaceNamespacedLease({ name: 'tfmirror-operator', namespace: 'ns', body: { ...created, spec: { ...created.spec, holderIdentity: 'pod-b' } } }));
    t.is(stolen.code, 409);
    t.is((await leases.readNamespacedLease({ name: 'tfmirror-operator', namespace: 'ns' })).spec?.holderIdentity, 'pod-a');
    t.is(fake.objects('Lease').length, 1);
  });
});

test('events created through CoreV1Api are visible through events()', async (t) => {
  await withFake({}, async (fake) => {
    const core = fake.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedEvent({
      namespace: 'ns',
      body: {
        metadata: { generateName: 'a.' },
        involvedObject: { apiVersion: 'tfmirror.dev/v1alpha1', kind: 'ProviderSet', name: 'a', namespace: 'ns' },
        reason: 'Synced',
        message: 'all providers mirrored',
        type: 'Normal',
      },
    });
    const events = fake.events('ns');
    t.is(events.length, 1);
    t.like(events[0], { reason: 'Synced', involvedObject: { name: 'a' } });
    t.regex(String(events[0]?.metadata.name), /^a\./);
  });
});

test('failNext answers matching requests with a Status of the given code', async (t) => {
  await withFake({}, async (fake, api) => {
    fake.failNext(2, 500, { method: 'POST' });
    t.is((await apiError(create(api, 'ns', providerSet('a')))).code, 500);
    t.is((await apiError(create(api, 'ns', providerSet('a')))).code, 500);
    await create(api, 'ns', providerSet('a'));
    t.is(fake.objects('ProviderSet').length, 1);
  });
});
