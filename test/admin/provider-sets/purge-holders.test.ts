import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import test from 'ava';
import type { PackageHolder } from '../../../server/src/db/package-holders.js';
import { parseSourceAddress } from '../../../server/src/providers/address.js';
import { packageKey, shasumsKey, signatureKey, signingKeysKey } from '../../../server/src/providers/keys.js';
import { AWS, cleanup, providerSet, setup, type Setup } from './helpers.js';
import { seedPackage, storedKeys } from '../routes/helpers.js';

const awsLinux = { source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['linux_amd64'] };
const awsBoth = { source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['linux_amd64', 'darwin_arm64'] };
const setHolder = (name: string, kind: 'ProviderSet' | 'ProviderMirror' = 'ProviderSet'): PackageHolder => ({
  kind: 'set',
  set: { kind, namespace: 'team-a', name },
});
const core = setHolder('core');
const addr = parseSourceAddress(AWS);
const linuxZip = packageKey(addr, '5.31.0', 'terraform-provider-aws_5.31.0_linux_amd64.zip');

function holds(s: Setup, os: string, arch: string): boolean {
  return s.world.providers.findPackage(addr, '5.31.0', os, arch) !== undefined;
}

// What else may hold the package team-a/core brought: each must survive its purge.
const otherHolders: { name: string; holder: PackageHolder }[] = [
  { name: 'imported', holder: { kind: 'imported' } },
  { name: 'admin-loaded', holder: { kind: 'loaded' } },
  { name: 'pulled', holder: { kind: 'pulled' } },
  { name: 'held by another set', holder: setHolder('other') },
  { name: 'held by a ProviderMirror of the same name', holder: setHolder('core', 'ProviderMirror') },
];
for (const c of otherHolders) {
  test(`purging a set keeps a package also ${c.name}`, async (t) => {
    const s = await setup();
    t.teardown(() => cleanup(s));
    await seedPackage(s.world, { source: AWS, version: '5.31.0', platform: 'linux_amd64', size: 100, holder: core });
    const pkg = s.world.providers.findPackage(addr, '5.31.0', 'linux', 'amd64')!;
    s.world.providers.addHolder(addr, '5.31.0', 'linux', 'amd64', c.holder);
    t.is((await s.put('ProviderSet/team-a/core', providerSet([awsLinux]))).status, 200);
    t.is((await s.del('ProviderSet/team-a/core?purge=true')).status, 204);
    t.true(holds(s, 'linux', 'amd64'));
    t.true((await storedKeys(s.world)).includes(linuxZip));
    t.deepEqual(s.world.providers.holdersOf(pkg.id), [c.holder], 'only the set\'s own holder row went');
  });
}

test('purging a set removes the package it alone brought, with its version files', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedPackage(s.world, { source: AWS, version: '5.31.0', platform: 'linux_amd64', size: 100, holder: core });
  await s.put('ProviderSet/team-a/core', providerSet([awsLinux]));
  t.is((await s.del('ProviderSet/team-a/core?purge=true')).status, 204);
  t.false(holds(s, 'linux', 'amd64'));
  t.deepEqual(await storedKeys(s.world), []);
});

test('purging a set keeps a package another set desires even before that set recorded its holder', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedPackage(s.world, { source: AWS, version: '5.31.0', platform: 'linux_amd64', size: 100, holder: core });
  await s.put('ProviderSet/team-a/core', providerSet([awsLinux]));
  await s.put('ProviderSet/team-b/aws', providerSet([awsLinux], { uid: 'uid-b' }));
  // Drop team-b's holder row, as if its planning had raced the package's publish.
  s.world.db.prepare(`DELETE FROM package_holders WHERE set_namespace = 'team-b'`).run();
  await s.del('ProviderSet/team-a/core?purge=true');
  t.true(holds(s, 'linux', 'amd64'));
});

test('a set that already found its packages held becomes their holder, so purging the one that brought them keeps them', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedPackage(s.world, { source: AWS, version: '5.31.0', platform: 'linux_amd64', size: 100, holder: core });
  await s.put('ProviderSet/team-a/core', providerSet([awsLinux]));
  await s.put('ProviderSet/team-b/aws', providerSet([awsLinux], { uid: 'uid-b' }));
  const pkg = s.world.providers.findPackage(addr, '5.31.0', 'linux', 'amd64')!;
  t.deepEqual(s.world.providers.holdersOf(pkg.id), [core, { kind: 'set', set: { kind: 'ProviderSet', namespace: 'team-b', name: 'aws' } }]);
  await s.del('ProviderSet/team-a/core?purge=true');
  t.true(holds(s, 'linux', 'amd64'));
  await s.del('ProviderSet/team-b/aws?purge=true');
  t.false(holds(s, 'linux', 'amd64'), 'the last holder\'s purge removes it');
});

test('a set deleted with Retain keeps holding its packages when a sharing set is purged', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedPackage(s.world, { source: AWS, version: '5.31.0', platform: 'linux_amd64', size: 100, holder: core });
  await s.put('ProviderSet/team-a/core', providerSet([awsLinux]));
  await s.put('ProviderSet/team-b/aws', providerSet([awsLinux], { uid: 'uid-b' }));
  await s.del('ProviderSet/team-a/core?purge=false');
  await s.del('ProviderSet/team-b/aws?purge=true');
  t.true(holds(s, 'linux', 'amd64'));
});

/** Stores an archive's object the way ingest does before recording its row (rows come last). */
async function uploadDarwin(s: Setup) {
  const filename = 'terraform-provider-aws_5.31.0_darwin_arm64.zip';
  const sha256 = createHash('sha256').update('darwin').digest('hex');
  const objectKey = `providers/registry.terraform.io/hashicorp/aws/5.31.0/${sha256.slice(0, 16)}/${filename}`;
  await s.world.store.put(objectKey, Readable.from([Buffer.from('darwin')]), { size: 6 });
  const record = () =>
    s.world.providers.recordPackage({
      provider: addr, version: '5.31.0', origin: 'loaded', os: 'darwin', arch: 'arm64', filename, size: 6, sha256,
      h1: 'h1:darwin', objectKey, evidence: { shasumsKey: shasumsKey(addr, '5.31.0'), signatureKey: signatureKey(addr, '5.31.0'), keyIds: ['K'] },
    });
  return { objectKey, record };
}

test('a purge interleaved with a publish of another platform of the same version keeps the other object', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedPackage(s.world, { source: AWS, version: '5.31.0', platform: 'linux_amd64', size: 100, holder: core });
  await s.put('ProviderSet/team-a/core', providerSet([awsLinux]));
  // The publish has stored its object; the purge runs before the publish records its row.
  const darwin = await uploadDarwin(s);
  t.is((await s.del('ProviderSet/team-a/core?purge=true')).status, 204);
  t.false(holds(s, 'linux', 'amd64'));
  darwin.record();
  t.true(holds(s, 'darwin', 'arm64'));
  t.true((await storedKeys(s.world)).includes(darwin.objectKey), 'the other platform\'s object survived the purge');
  t.false((await storedKeys(s.world)).includes(linuxZip));
});

test('a purge after the other platform was published keeps the version and its shared files', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedPackage(s.world, { source: AWS, version: '5.31.0', platform: 'linux_amd64', size: 100, holder: core });
  await s.put('ProviderSet/team-a/core', providerSet([awsLinux]));
  const darwin = await uploadDarwin(s);
  darwin.record();
  await s.del('ProviderSet/team-a/core?purge=true');
  const keys = await storedKeys(s.world);
  t.true(keys.includes(darwin.objectKey));
  t.true(keys.includes(shasumsKey(addr, '5.31.0')));
  t.true(keys.includes(signatureKey(addr, '5.31.0')));
  t.false(keys.includes(linuxZip));
});

test('a purge keeps the shared files of a version while a load of it is pending', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedPackage(s.world, { source: AWS, version: '5.31.0', platform: 'linux_amd64', size: 100, holder: core });
  // team-a/core wants darwin too: its job for that item is still pending when the set is deleted.
  const put = await s.put('ProviderSet/team-a/core', providerSet([awsBoth]));
  t.truthy(put.body.jobId);
  await s.del('ProviderSet/team-a/core?purge=true');
  t.false(holds(s, 'linux', 'amd64'));
  const keys = await storedKeys(s.world);
  for (const k of [shasumsKey(addr, '5.31.0'), signatureKey(addr, '5.31.0'), signingKeysKey(addr, '5.31.0')]) t.true(keys.includes(k), k);
});
