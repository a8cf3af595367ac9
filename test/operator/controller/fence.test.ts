import test from 'ava';
import { NotLeading, fencedKube, fencedServer } from '../../../operator/src/fence.js';
import type { KubeAccess, ObjectRef } from '../../../operator/src/kube.js';
import { FakeServerClient } from './fake-server-client.js';

const ref: ObjectRef = { kind: 'ProviderSet', namespace: 'ns', name: 'a' };

function recordingKube(calls: string[]): KubeAccess {
  return {
    get: async () => (calls.push('get'), undefined),
    patchStatus: async () => void calls.push('patchStatus'),
    setFinalizers: async () => void calls.push('setFinalizers'),
    createEvent: async () => void calls.push('createEvent'),
  };
}

test('with the gate closed every write is refused as NotLeading before it is sent, and reads still pass', async (t) => {
  const calls: string[] = [];
  let open = true;
  const kube = fencedKube(recordingKube(calls), () => open);
  const server = new FakeServerClient();
  const fenced = fencedServer(server, () => open);
  await fenced.put('ns', 'a', { uid: 'u', generation: 1, kind: 'ProviderSet', spec: { providers: [] } });
  await kube.patchStatus(ref, {});
  open = false;
  const writes = [
    () => kube.patchStatus(ref, {}),
    () => kube.setFinalizers(ref, '1', []),
    () => kube.createEvent({ apiVersion: 'tfmirror.dev/v1alpha1', kind: 'ProviderSet', metadata: {}, spec: {} }, { type: 'Normal', reason: 'R', message: 'm' }, new Date()),
    () => fenced.put('ns', 'a', { uid: 'u', generation: 2, kind: 'ProviderSet', spec: { providers: [] } }),
    () => fenced.delete('ns', 'a', false),
  ];
  for (const write of writes) t.true((await t.throwsAsync(write())) instanceof NotLeading);
  await kube.get(ref);
  await fenced.get('ns', 'a');
  await fenced.list();
  t.deepEqual(calls, ['patchStatus', 'get']);
  t.deepEqual(server.calls.map((c) => c.method), ['PUT', 'GET', 'LIST']);
});
