import test from 'ava';
import { jobRoutes } from '../../../server/src/admin/jobs/routes.js';
import type { UpstreamVersion } from '../../../server/src/upstream/documents.js';
import { createWorld, fakeRegistries, startAdmin } from './helpers.js';

const linux = { os: 'linux', arch: 'amd64' } as const;
const upstream: Record<string, UpstreamVersion[]> = {
  'registry.terraform.io/hashicorp/null': [
    { version: '3.2.0', protocols: ['5.0'], platforms: [linux] },
    { version: '3.2.1', protocols: ['5.0'], platforms: [linux] },
  ],
};

async function setup() {
  const world = await createWorld();
  const server = await startAdmin(jobRoutes({ jobs: world.jobs, registries: fakeRegistries(upstream), maxAttempts: 3 }));
  const jobCount = () => world.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM jobs').get()!.n;
  return { world, server, jobCount, close: () => server.close().finally(() => world.close()) };
}

test('a dry run answers what a load would queue, with its problems, and queues nothing nor audits', async (t) => {
  const s = await setup();
  t.teardown(() => s.close());
  const body = 'provider "hashicorp/null" {\n  versions  = ["~> 3.2", "9.9.9"]\n  platforms = ["linux_amd64"]\n}\n';
  const audited = s.server.audit.length;
  const res = await s.server.call('POST', '/providers/load/plan', { token: 'operator-token', body, contentType: 'text/plain' });
  t.is(res.status, 200, JSON.stringify(res.body));
  t.deepEqual(
    res.body.items.map((i: { kind: string; source: string; version: string; platform: string }) => `${i.kind} ${i.source} ${i.version} ${i.platform}`).sort(),
    ['provider registry.terraform.io/hashicorp/null 3.2.0 linux_amd64', 'provider registry.terraform.io/hashicorp/null 3.2.1 linux_amd64'],
  );
  t.is(res.body.problems.length, 1);
  t.regex(res.body.problems[0], /version 9\.9\.9 is not offered upstream/);
  t.deepEqual(res.body.notices, []);
  t.is(s.jobCount(), 0, 'nothing is queued');
  t.is(s.server.audit.length, audited, 'a dry run changes nothing, so it is not audited');
  const load = await s.server.call('POST', '/providers/load', { token: 'operator-token', body, contentType: 'text/plain' });
  t.is(load.status, 202);
  t.is(load.body.items, res.body.items.length, 'the load queues exactly what the dry run listed');
});

test('a dry run reports a parse error at its line and column, and a viewer may not plan', async (t) => {
  const s = await setup();
  t.teardown(() => s.close());
  const bad = await s.server.call('POST', '/providers/load/plan', { token: 'admin-token', body: 'provider "hashicorp/null" {\n  versions = [\n}\n', contentType: 'text/plain' });
  t.is(bad.status, 400);
  t.is(typeof bad.body.error.line, 'number');
  t.is(typeof bad.body.error.column, 'number');
  const viewer = await s.server.call('POST', '/providers/load/plan', { token: 'viewer-token', body: 'x', contentType: 'text/plain' });
  t.is(viewer.status, 403);
  t.is(s.jobCount(), 0);
});
