import test from 'ava';
import { cleanup, providerSet, setup } from './helpers.js';

const nul = { source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64'] };
const aws = { source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['linux_amd64', 'darwin_arm64'] };
const mirror = (opts: { uid?: string } = {}) => ({
  uid: opts.uid ?? 'uid-m',
  generation: 1,
  kind: 'ProviderMirror',
  spec: { source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['linux_amd64', 'darwin_arm64'] },
});

test('a ProviderSet and a ProviderMirror with the same namespace and name are two records', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.like((await s.put('ProviderSet/team-a/same', providerSet([nul]))).body, { desired: 1, uid: 'uid-1' });
  t.like((await s.put('ProviderMirror/team-a/same', mirror())).body, { desired: 2, uid: 'uid-m' });
  t.like((await s.get('ProviderSet/team-a/same')).body, { desired: 1, uid: 'uid-1' });
  t.like((await s.get('ProviderMirror/team-a/same')).body, { desired: 2, uid: 'uid-m' });
  const rows = s.world.db.prepare(`SELECT kind FROM provider_sets WHERE namespace = 'team-a' AND name = 'same' ORDER BY kind`).all();
  t.deepEqual(rows, [{ kind: 'ProviderMirror' }, { kind: 'ProviderSet' }]);

  t.is((await s.del('ProviderMirror/team-a/same?purge=true')).status, 204);
  t.is((await s.get('ProviderMirror/team-a/same')).status, 404);
  t.like((await s.get('ProviderSet/team-a/same')).body, { desired: 1, uid: 'uid-1' });
});

test('the older path without the kind answers for the one set of that name', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await s.put('team-a/only', mirror())).status, 200);
  t.like((await s.get('ProviderMirror/team-a/only')).body, { desired: 2 });
  t.like((await s.get('team-a/only')).body, { desired: 2 });
  t.is((await s.del('team-a/only?purge=true')).status, 204);
  t.is((await s.get('ProviderMirror/team-a/only')).status, 404);
});

test('the older path without the kind is 409 when both kinds share the name', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await s.put('ProviderSet/team-a/same', providerSet([aws]));
  await s.put('ProviderMirror/team-a/same', mirror());
  const conflict = await s.get('team-a/same');
  t.is(conflict.status, 409);
  t.regex(conflict.body.error.message, /^a ProviderMirror and a ProviderSet are named team-a\/same: use \/provider-sets\/\{kind\}\/team-a\/same$/);
  t.is((await s.del('team-a/same?purge=true')).status, 409);
  t.is((await s.get('ProviderSet/team-a/same')).status, 200, 'nothing was deleted');
  t.is((await s.get('ProviderMirror/team-a/same')).status, 200);
});

test('a body whose kind differs from the path is 400 and stores nothing', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.put('ProviderSet/team-a/x', mirror());
  t.is(res.status, 400);
  t.is((await s.get('ProviderSet/team-a/x')).status, 404);
  t.is((await s.get('ProviderMirror/team-a/x')).status, 404);
});

test('an unknown kind in the path is 400; a ModuleSet is a known kind', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await s.get('ModuleMirror/team-a/x')).status, 400);
  t.is((await s.get('ModuleSet/team-a/x')).status, 404);
});

test("a set's load job names the set as the holder of what it brings", async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.put('ProviderMirror/team-a/same', mirror());
  t.is(s.world.jobs.holderOf(res.body.jobId), 'set:ProviderMirror/team-a/same');
});
