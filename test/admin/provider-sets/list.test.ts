import test from 'ava';
import { cleanup, providerSet, setup, type Setup } from './helpers.js';

const list = (s: Setup) => s.server.call('GET', '/provider-sets', { token: 'operator-token' });
const nul = { source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64'] };
const mirror = { uid: 'uid-m', generation: 4, kind: 'ProviderMirror', spec: { source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64'] } };

test('GET /provider-sets lists every set by kind, namespace, name, uid and generation, without specs', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.deepEqual((await list(s)).body, { items: [] });
  await s.put('ProviderSet/team-b/core', providerSet([nul], { uid: 'uid-b', generation: 2 }));
  await s.put('ProviderSet/team-a/core', providerSet([nul], { uid: 'uid-a' }));
  await s.put('ProviderMirror/team-a/core', mirror);
  const res = await list(s);
  t.is(res.status, 200);
  t.deepEqual(res.body, {
    items: [
      { kind: 'ProviderMirror', namespace: 'team-a', name: 'core', uid: 'uid-m', generation: 4 },
      { kind: 'ProviderSet', namespace: 'team-a', name: 'core', uid: 'uid-a', generation: 1 },
      { kind: 'ProviderSet', namespace: 'team-b', name: 'core', uid: 'uid-b', generation: 2 },
    ],
  });
  await s.del('ProviderSet/team-a/core');
  t.is((await list(s)).body.items.length, 2);
});

test('GET /provider-sets needs a token', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await s.server.call('GET', '/provider-sets', {})).status, 401);
});
