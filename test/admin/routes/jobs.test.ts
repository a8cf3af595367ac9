import test from 'ava';
import { jobRoutes } from '../../../server/src/admin/jobs/routes.js';
import type { UpstreamVersion } from '../../../server/src/upstream/documents.js';
import { createWorld, fakeRegistries, startAdmin } from './helpers.js';

const NOW = Date.parse('2025-03-04T05:06:07.000Z');
const linux = { os: 'linux', arch: 'amd64' } as const;
const darwin = { os: 'darwin', arch: 'arm64' } as const;
const upstream: Record<string, UpstreamVersion[]> = {
  'registry.terraform.io/hashicorp/aws': [
    { version: '5.30.0', protocols: ['5.0'], platforms: [linux, darwin] },
    { version: '5.31.0', protocols: ['5.0'], platforms: [linux, darwin] },
  ],
  'registry.terraform.io/hashicorp/null': [{ version: '3.2.1', protocols: ['5.0'], platforms: [linux] }],
};

const hcl = `provider "hashicorp/aws" {
  versions  = ["5.31.0"]
  platforms = ["linux_amd64", "darwin_arm64"]
}

provider "hashicorp/null" {
  versions  = ["~> 3.2"]
  platforms = ["linux_amd64"]
}
`;

async function setup() {
  const world = await createWorld();
  const registries = fakeRegistries(upstream);
  const server = await startAdmin(jobRoutes({ jobs: world.jobs, registries, maxAttempts: 3, now: () => NOW }));
  const jobCount = () => world.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM jobs').get()!.n;
  const s = { world, registries, server, jobCount };
  return s;
}

type Setup = Awaited<ReturnType<typeof setup>>;
const cleanup = (s: Setup) => s.server.close().finally(() => s.world.close());
const load = (s: Setup, body: string, contentType: string, token = 'admin-token') =>
  s.server.call('POST', '/providers/load', { token, body, contentType });

test('loading HCL plans against the upstream and queues one job with the planned items', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await load(s, hcl, 'application/hcl');
  t.is(res.status, 202);
  t.deepEqual(res.body, { jobId: res.body.jobId, items: 3, problems: [] });
  t.is(res.headers.get('location'), `/admin/api/jobs/${res.body.jobId}`);
  const job = s.world.jobs.getJob(res.body.jobId);
  t.like(job, { kind: 'load', status: 'pending', requestedBy: 'token:admin', createdAt: NOW });
  t.deepEqual(
    job.items.map((i) => [i.source, i.version, i.platform, i.maxAttempts]),
    [
      ['registry.terraform.io/hashicorp/aws', '5.31.0', 'linux_amd64', 3],
      ['registry.terraform.io/hashicorp/aws', '5.31.0', 'darwin_arm64', 3],
      ['registry.terraform.io/hashicorp/null', '3.2.1', 'linux_amd64', 3],
    ],
  );
  t.like(s.server.audit.at(-1), {
    action: 'providers.load',
    outcome: 'success',
    actor: 'token:admin',
    resource: `job:${res.body.jobId}`,
    details: { items: 3, problems: 0 },
  });
});

const formats = [
  { name: 'HCL as text/plain', contentType: 'text/plain', body: hcl },
  {
    name: 'YAML',
    contentType: 'application/yaml',
    body: 'providers:\n  - source: hashicorp/null\n    versions: ["3.2.1"]\n    platforms: [linux_amd64]\n',
  },
  {
    name: 'JSON',
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({ providers: [{ source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64'] }] }),
  },
];
for (const c of formats) {
  test(`definitions are accepted as ${c.name}`, async (t) => {
    const s = await setup();
    t.teardown(() => cleanup(s));
    const res = await load(s, c.body, c.contentType, 'operator-token');
    t.is(res.status, 202, JSON.stringify(res.body));
    t.true(res.body.items >= 1);
    t.is(s.world.jobs.getJob(res.body.jobId).requestedBy, 'operator-token');
  });
}

test('what the upstream lacks is reported as problems beside the planned items', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const body = `provider "hashicorp/aws" {\n  versions = ["5.31.0", "6.0.0"]\n  platforms = ["linux_amd64", "windows_amd64"]\n}\n`;
  const res = await load(s, body, 'application/hcl');
  t.is(res.status, 202);
  t.is(res.body.items, 1);
  t.deepEqual(res.body.problems, [
    'registry.terraform.io/hashicorp/aws: version 6.0.0 is not offered upstream',
    'registry.terraform.io/hashicorp/aws 5.31.0: platform windows_amd64 is not offered upstream',
  ]);
});

const rejected = [
  {
    name: 'invalid YAML is 400 with line and column',
    contentType: 'application/yaml',
    body: 'providers:\n  - source: hashicorp/null\n    versions: ["3.2.1"\n    platforms: [linux_amd64]\n',
    error: { line: 4 },
    message: /^body:4:\d+: /,
  },
  {
    name: 'a schema error in YAML points at the offending value',
    contentType: 'application/yaml',
    body: 'providers:\n  - source: hashicorp/null\n    versions: ["3.2.1"]\n    platforms: [linux_amd46]\n',
    error: { line: 4, column: 17, key: 'providers[0].platforms[0]' },
    message: /unknown architecture "amd46"/,
  },
  {
    name: 'invalid HCL is 400 with line and column',
    contentType: 'application/hcl',
    body: 'provider "hashicorp/null" {\n  versions = ["3.2.1"\n}\n',
    error: { line: 3, column: 1 },
    message: /^body:3:1: HCL syntax error/,
  },
  { name: 'a wrong Content-Type is 400', contentType: 'text/csv', body: 'a,b\n', message: /unsupported Content-Type "text\/csv"/ },
  { name: 'definitions naming no providers are 400', contentType: 'application/yaml', body: 'providers: []\n', message: /no providers/ },
  {
    name: 'a provider the upstream does not have is 400',
    contentType: 'application/hcl',
    body: 'provider "hashicorp/nope" {\n  versions = ["1.0.0"]\n  platforms = ["linux_amd64"]\n}\n',
    message: /hashicorp\/nope not found upstream/,
  },
];
for (const c of rejected) {
  test(`${c.name}, stores nothing and is audited as a failure`, async (t) => {
    const s = await setup();
    t.teardown(() => cleanup(s));
    const res = await load(s, c.body, c.contentType);
    t.is(res.status, 400, JSON.stringify(res.body));
    t.regex(res.body.error.message, c.message);
    if (c.error) t.like(res.body.error, c.error);
    t.is(s.jobCount(), 0);
    t.like(s.server.audit.at(-1), { action: 'providers.load', outcome: 'failure', actor: 'token:admin' });
  });
}

test('a viewer may not load definitions', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const res = await load(s, hcl, 'application/hcl', 'viewer-token');
  t.is(res.status, 403);
  t.is(s.jobCount(), 0);
  t.deepEqual(s.registries.calls, [], 'the upstream is not even asked');
  t.like(s.server.audit.at(-1), { action: 'providers.load', outcome: 'failure', actor: 'token:viewer' });
});

function seedJobs(s: Setup) {
  const item = (version: string) => ({ source: 'registry.terraform.io/hashicorp/null', version, platform: 'linux_amd64' });
  const first = s.world.jobs.createJob({ kind: 'load', requestedBy: 'cli', spec: {}, items: [item('3.2.0'), item('3.2.1')], maxAttempts: 1 }, NOW);
  const second = s.world.jobs.createJob({ kind: 'load', requestedBy: 'token:ci', spec: {}, items: [item('3.2.2')], maxAttempts: 1 }, NOW + 1000);
  // The first job: one item succeeds, one fails for good.
  const [a, b] = s.world.jobs.claim('w1', 60_000, NOW + 2000, 10, first);
  s.world.jobs.complete(a!.id, 'w1', 'succeeded', NOW + 3000, { done: 100, total: 100 });
  s.world.jobs.fail(b!.id, 'w1', 'upstream said 500', null, NOW + 4000);
  return { first, second };
}

test('the job list is newest first with progress and ISO timestamps, filtered and paged', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const { first, second } = seedJobs(s);
  const all = await s.server.call('GET', '/jobs', { token: 'viewer-token' });
  t.is(all.status, 200);
  t.is(all.body.total, 2);
  t.deepEqual(all.body.items.map((j: any) => j.id), [second, first]);
  t.deepEqual(all.body.items[1], {
    id: first,
    kind: 'load',
    status: 'failed',
    progress: { total: 2, pending: 0, retrying: 0, running: 0, succeeded: 1, skipped: 0, failed: 1, bytesDone: 100, bytesTotal: 100 },
    createdAt: '2025-03-04T05:06:07.000Z',
    startedAt: '2025-03-04T05:06:09.000Z',
    finishedAt: '2025-03-04T05:06:11.000Z',
    requestedBy: 'cli',
  });
  const failed = await s.server.call('GET', '/jobs?status=failed', { token: 'operator-token' });
  t.deepEqual(failed.body.items.map((j: any) => j.id), [first]);
  t.is(failed.body.total, 1);
  const page = await s.server.call('GET', '/jobs?limit=1&offset=1', { token: 'viewer-token' });
  t.deepEqual(page.body.items.map((j: any) => j.id), [first]);
  t.is(page.body.total, 2);
  t.is((await s.server.call('GET', '/jobs?status=done', { token: 'viewer-token' })).status, 400);
});

test('a job shows the contract fields and its items', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const { first } = seedJobs(s);
  const res = await s.server.call('GET', `/jobs/${first}`, { token: 'viewer-token' });
  t.is(res.status, 200);
  t.like(res.body, { id: first, status: 'failed', requestedBy: 'cli', createdAt: '2025-03-04T05:06:07.000Z' });
  for (const key of ['progress', 'startedAt', 'finishedAt']) t.true(key in res.body, key);
  t.deepEqual(res.body.items, [
    { kind: 'provider', source: 'registry.terraform.io/hashicorp/null', version: '3.2.0', platform: 'linux_amd64', status: 'succeeded', error: null, attempts: 1, bytesDone: 100, bytesTotal: 100 },
    { kind: 'provider', source: 'registry.terraform.io/hashicorp/null', version: '3.2.1', platform: 'linux_amd64', status: 'failed', error: 'upstream said 500', attempts: 1, bytesDone: 0, bytesTotal: 0 },
  ]);
  t.is((await s.server.call('GET', '/jobs/999', { token: 'viewer-token' })).status, 404);
});

test('retry re-queues only the failed items and is audited', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const { first } = seedJobs(s);
  const res = await s.server.call('POST', `/jobs/${first}/retry`, { token: 'operator-token' });
  t.is(res.status, 202);
  t.deepEqual(res.body, { jobId: first, retried: 1 });
  const job = s.world.jobs.getJob(first);
  t.is(job.status, 'running', 'one item done, one pending again');
  t.deepEqual(job.items.map((i) => [i.status, i.attempts, i.error]), [['succeeded', 1, null], ['pending', 0, null]]);
  t.like(s.server.audit.at(-1), { action: 'job.retry', outcome: 'success', actor: 'operator-token', resource: `job:${first}`, details: { retried: 1 } });
  const again = await s.server.call('POST', `/jobs/${first}/retry`, { token: 'admin-token' });
  t.deepEqual(again.body, { jobId: first, retried: 0 }, 'nothing failed any more');
});

test('retry of an unknown job is 404 and a viewer may not retry; both are audited', async (t) => {
  const s = await setup();
  t.teardown(() => cleanup(s));
  const { first } = seedJobs(s);
  t.is((await s.server.call('POST', '/jobs/999/retry', { token: 'admin-token' })).status, 404);
  t.is((await s.server.call('POST', `/jobs/${first}/retry`, { token: 'viewer-token' })).status, 403);
  t.is(s.world.jobs.getJob(first).status, 'failed');
  t.deepEqual(s.server.audit.map((e) => [e.action, e.outcome, e.actor]), [
    ['job.retry', 'failure', 'token:admin'],
    ['job.retry', 'failure', 'token:viewer'],
  ]);
});
