import test from 'ava';
import { AWS, NULL, NOW, cleanup, providerSet, setup } from './helpers.js';
import { seedPackage } from '../routes/helpers.js';

const aws = { source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['linux_amd64', 'darwin_arm64'] };
const nul = { source: 'hashicorp/null', versions: ['~> 3.2'], platforms: ['linux_amd64'] };

test('PUT plans the set and queues a job of only the items the mirror lacks', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedPackage(s.world, { source: AWS, version: '5.31.0', platform: 'linux_amd64', size: 100 });
  const res = await s.put('team-a/core', providerSet([aws, nul]));
  t.is(res.status, 200);
  t.deepEqual(res.body, {
    namespace: 'team-a',
    name: 'core',
    uid: 'uid-1',
    observedGeneration: 1,
    desired: 3,
    ready: 1,
    failed: 0,
    pending: 2,
    jobId: res.body.jobId,
    jobStatus: 'pending',
    failures: [],
    resolvedVersions: [`${AWS} 5.31.0`, `${NULL} 3.2.1`],
    problems: [],
    lastSyncTime: new Date(NOW).toISOString(),
  });
  const job = s.world.jobs.getJob(res.body.jobId);
  t.is(job.requestedBy, 'operator:team-a/core');
  t.deepEqual(
    job.items.map((i) => `${i.source} ${i.version} ${i.platform}`),
    [`${AWS} 5.31.0 darwin_arm64`, `${NULL} 3.2.1 linux_amd64`],
  );
});

test('PUT of a set the mirror already holds entirely queues no job', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await seedPackage(s.world, { source: NULL, version: '3.2.1', platform: 'linux_amd64', size: 100 });
  const res = await s.put('team-a/null', providerSet([nul]));
  t.is(res.status, 200);
  t.like(res.body, { desired: 1, ready: 1, pending: 0, jobId: null, jobStatus: null });
  t.is(s.jobCount(), 0);
});

test('PUT again with the same uid and generation returns the status without planning again', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const first = await s.put('team-a/core', providerSet([aws]));
  s.tick(60_000);
  const again = await s.put('team-a/core', providerSet([aws]));
  t.is(again.status, 200);
  t.deepEqual(again.body, first.body);
  t.is(s.registries.calls.length, 1);
  t.is(s.jobCount(), 1);
});

test('a new generation is planned again with its new spec', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await s.put('team-a/core', providerSet([aws]));
  s.tick(60_000);
  const res = await s.put('team-a/core', providerSet([aws, nul], { generation: 2 }));
  t.like(res.body, { observedGeneration: 2, desired: 3, pending: 3, lastSyncTime: new Date(NOW + 60_000).toISOString() });
  t.is(s.registries.calls.length, 3);
  t.is(s.jobCount(), 2);
  t.deepEqual(
    s.world.jobs.getJob(res.body.jobId).items.map((i) => i.source),
    [AWS, AWS, NULL],
  );
});

test('an older generation of the same object is not planned (a stale request)', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await s.put('team-a/core', providerSet([aws, nul], { generation: 3 }));
  const res = await s.put('team-a/core', providerSet([aws], { generation: 2, resync: true }));
  t.like(res.body, { observedGeneration: 3, desired: 3 });
  t.is(s.registries.calls.length, 2);
});

test('resync plans again and queues a job for a release that appeared upstream', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const spec = [{ source: 'hashicorp/aws', versions: ['~> 5.0'], latest: 1, platforms: ['linux_amd64'] }];
  const first = await s.put('team-a/aws', providerSet(spec));
  t.deepEqual(first.body.resolvedVersions, [`${AWS} 5.31.0`]);
  s.versions[AWS]!.push({ version: '5.32.0', protocols: ['5.0'], platforms: [{ os: 'linux', arch: 'amd64' }] });
  const same = await s.put('team-a/aws', providerSet(spec));
  t.is(same.body.jobId, first.body.jobId);
  const res = await s.put('team-a/aws', providerSet(spec, { resync: true }));
  t.is(res.status, 200);
  t.deepEqual(res.body.resolvedVersions, [`${AWS} 5.32.0`]);
  t.not(res.body.jobId, first.body.jobId);
  t.deepEqual(
    s.world.jobs.getJob(res.body.jobId).items.map((i) => `${i.version} ${i.platform}`),
    ['5.32.0 linux_amd64'],
  );
});

test('a different uid under the same name is a recreated object: it is planned afresh', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  await s.put('team-a/core', providerSet([aws, nul], { generation: 5 }));
  const res = await s.put('team-a/core', providerSet([nul], { uid: 'uid-2', generation: 1 }));
  t.like(res.body, { uid: 'uid-2', observedGeneration: 1, desired: 1 });
  t.is(s.jobCount(), 2);
});

test('a ProviderMirror is planned as one provider definition', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.put('team-b/aws', {
    uid: 'm-1',
    generation: 1,
    kind: 'ProviderMirror',
    spec: { source: 'hashicorp/aws', versions: ['>= 5.0'], platforms: ['linux_amd64'], syncInterval: '1h', deletionPolicy: 'Delete' },
  });
  t.is(res.status, 200);
  t.like(res.body, { desired: 2, pending: 2, jobStatus: 'pending' });
  t.deepEqual(res.body.resolvedVersions, [`${AWS} 5.30.0`, `${AWS} 5.31.0`]);
});

test('planning problems are reported in the status', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.put('team-a/core', providerSet([{ source: 'hashicorp/aws', versions: ['~> 6.0'], platforms: ['linux_amd64'] }]));
  t.is(res.status, 200);
  t.like(res.body, { desired: 0, jobId: null });
  t.is(res.body.problems.length, 1);
  t.regex(res.body.problems[0], /no upstream version matches "~> 6.0"/);
});

test('the status counts held items as ready and items that failed in the latest job as failed', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await s.put('team-a/core', providerSet([aws, nul]));
  const [claimed] = s.world.jobs.claim('worker-1', 60_000, NOW + 1, 1, res.body.jobId);
  t.truthy(claimed);
  t.is(s.world.jobs.fail(claimed!.id, 'worker-1', 'checksum mismatch', null, NOW + 2), 'failed');
  await seedPackage(s.world, { source: NULL, version: '3.2.1', platform: 'linux_amd64', size: 100 });
  const status = await s.get('team-a/core');
  t.is(status.status, 200);
  t.like(status.body, { desired: 3, ready: 1, failed: 1, pending: 1, jobStatus: 'running' });
  t.deepEqual(status.body.failures, [
    { source: claimed!.source, version: claimed!.version, platform: claimed!.platform, message: 'checksum mismatch' },
  ]);
});

const invalid = [
  {
    name: 'an unknown platform is named with its field',
    body: providerSet([{ source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['plan9_amd64'] }]),
    message: /providers\[0\]\.platforms\[0\]: unknown operating system "plan9"/,
  },
  { name: 'a bad constraint is named with its field', body: providerSet([{ source: 'hashicorp/aws', versions: ['~> banana'], platforms: ['linux_amd64'] }]), message: /providers\[0\]\.versions\[0\]: invalid version constraint/ },
  { name: 'a missing versions list is named', body: providerSet([{ source: 'hashicorp/aws', platforms: ['linux_amd64'] }]), message: /body\.spec\.providers\.0\.versions/ },
  {
    name: 'both providers and hcl are refused',
    body: { uid: 'u', generation: 1, kind: 'ProviderSet', spec: { providers: [aws], hcl: 'provider "hashicorp/aws" {}' } },
    message: /exactly one of spec\.providers or spec\.hcl/,
  },
  { name: 'neither providers nor hcl is refused', body: { uid: 'u', generation: 1, kind: 'ProviderSet', spec: {} }, message: /exactly one/ },
  { name: 'an unknown kind is refused', body: { uid: 'u', generation: 1, kind: 'Other', spec: {} }, message: /kind/ },
  {
    name: 'a provider the upstream lacks is invalid input',
    body: providerSet([{ source: 'hashicorp/nope', versions: ['1.0.0'], platforms: ['linux_amd64'] }]),
    message: /hashicorp\/nope/,
  },
];

for (const c of invalid) {
  test(`invalid spec: ${c.name} (400, nothing stored)`, async (t) => {
    const s = await setup();
    t.teardown(() => cleanup(s));
    const res = await s.put('team-a/core', c.body);
    t.is(res.status, 400);
    t.regex(res.body.error.message, c.message);
    t.is((await s.get('team-a/core')).status, 404);
    t.is(s.jobCount(), 0);
  });
}

test('an HCL spec is parsed as HCL', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const hcl = 'provider "hashicorp/null" {\n  versions  = ["3.2.1"]\n  platforms = ["linux_amd64"]\n}\n';
  const res = await s.put('team-a/hcl', { uid: 'h', generation: 1, kind: 'ProviderSet', spec: { hcl } });
  t.is(res.status, 200);
  t.like(res.body, { desired: 1, pending: 1 });
});
