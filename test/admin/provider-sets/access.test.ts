import test from 'ava';
import { cleanup, providerSet, setup } from './helpers.js';

const nul = { source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64'] };

test('GET of an unknown set is 404', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.get('team-a/missing');
  t.is(res.status, 404);
});

test('a viewer may read a set but not declare one', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await s.put('team-a/core', providerSet([nul]), 'viewer-token')).status, 403);
  t.is((await s.put('team-a/core', providerSet([nul]), 'admin-token')).status, 200);
  const res = await s.get('team-a/core', 'viewer-token');
  t.is(res.status, 200);
  t.is(res.body.desired, 1);
  t.is((await s.del('team-a/core', 'viewer-token')).status, 403);
});

test('PUT is audited with the set and its generation', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await s.put('team-a/core', providerSet([nul]));
  t.like(s.server.audit.at(-1), {
    action: 'provider-set.apply',
    outcome: 'success',
    actor: 'operator-token',
    resource: 'provider-set:ProviderSet/team-a/core',
    details: { uid: 'uid-1', generation: 1 },
  });
});

test('a name that is not a Kubernetes object name is 400', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.put('Team_A/core', providerSet([nul]));
  t.is(res.status, 400);
  t.regex(res.body.error.message, /path\.namespace/);
});
