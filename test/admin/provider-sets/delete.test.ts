import test from 'ava';
import { AWS, NULL, cleanup, providerSet, setup } from './helpers.js';
import { seedPackage, storedKeys } from '../routes/helpers.js';

const awsBoth = { source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['linux_amd64', 'darwin_arm64'] };
const awsLinux = { source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['linux_amd64'] };
const nul = { source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64'] };

// As team-a/core's own load job would have brought them.
const byCore = { kind: 'set', set: { kind: 'ProviderSet', namespace: 'team-a', name: 'core' } } as const;

async function seedAll(s: Awaited<ReturnType<typeof setup>>) {
  await seedPackage(s.world, { source: AWS, version: '5.31.0', platform: 'linux_amd64', size: 100, holder: byCore });
  await seedPackage(s.world, { source: AWS, version: '5.31.0', platform: 'darwin_arm64', size: 100, holder: byCore });
  await seedPackage(s.world, { source: NULL, version: '3.2.1', platform: 'linux_amd64', size: 100, holder: byCore });
}

test('DELETE with purge removes the packages only this set wanted and keeps those another set references', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedAll(s);
  t.like((await s.put('team-a/core', providerSet([awsBoth, nul]))).body, { ready: 3, jobId: null });
  t.like((await s.put('team-b/aws', providerSet([awsLinux], { uid: 'uid-b' }))).body, { ready: 1 });
  const res = await s.del('team-a/core?purge=true');
  t.is(res.status, 204);
  t.is((await s.get('team-a/core')).status, 404);
  const held = (source: string, version: string, os: string, arch: string) => {
    const [hostname, namespace, type] = source.split('/') as [string, string, string];
    return s.world.providers.findPackage({ hostname, namespace, type }, version, os, arch) !== undefined;
  };
  t.true(held(AWS, '5.31.0', 'linux', 'amd64'));
  t.false(held(AWS, '5.31.0', 'darwin', 'arm64'));
  t.false(held(NULL, '3.2.1', 'linux', 'amd64'));
  const keys = await storedKeys(s.world);
  t.true(keys.includes('providers/registry.terraform.io/hashicorp/aws/5.31.0/terraform-provider-aws_5.31.0_linux_amd64.zip'));
  t.false(keys.includes('providers/registry.terraform.io/hashicorp/aws/5.31.0/terraform-provider-aws_5.31.0_darwin_arm64.zip'));
  // The null version lost its last package: its row and every object under its prefix are gone.
  t.deepEqual(keys.filter((k) => k.startsWith('providers/registry.terraform.io/hashicorp/null/')), []);
  t.is(s.world.providers.findProvider({ hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' }), undefined);
  // The aws version keeps its evidence: a package of it remains.
  t.true(keys.some((k) => k.endsWith('terraform-provider-aws_5.31.0_SHA256SUMS')));
  t.true(s.world.invalidations > 0);
  t.like((await s.get('team-b/aws')).body, { desired: 1, ready: 1 });
});

test('DELETE without purge forgets the set and keeps every package', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedAll(s);
  await s.put('team-a/core', providerSet([awsBoth, nul]));
  const before = await storedKeys(s.world);
  t.is((await s.del('team-a/core?purge=false')).status, 204);
  t.is((await s.get('team-a/core')).status, 404);
  t.deepEqual(await storedKeys(s.world), before);
  t.is(s.world.invalidations, 0);
});

test('DELETE of an unknown set is 204 (idempotent)', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  t.is((await s.del('team-a/missing?purge=true')).status, 204);
  t.is((await s.del('team-a/missing')).status, 204);
});
