import anyTest, { type TestFn } from 'ava';
import { z } from 'zod';
import { AuditLog } from '../../../server/src/admin/audit/log.js';
import { auditRoutes } from '../../../server/src/admin/audit/routes.js';
import { route } from '../../../server/src/admin/framework/route.js';
import { ADMINS } from '../../../server/src/admin/principal.js';
import { AuditRepository } from '../../../server/src/db/audit.js';
import { openDatabase } from '../../../server/src/db/database.js';
import { startAdminApp, type TestApp } from './app.js';

const test = anyTest as TestFn<{ app: TestApp; log: AuditLog }>;
const T0 = Date.parse('2024-05-01T12:00:00.000Z');

// An audited route that succeeds or fails on demand, so entries come from the real router.
const probe = route({
  method: 'post',
  path: '/probe',
  summary: 'probe',
  tag: 'test',
  access: ADMINS,
  audit: 'probe.run',
  body: z.object({ fail: z.boolean(), password: z.string().optional() }),
  responses: { 200: { description: 'ok' } },
  async handler({ body }) {
    if (body.fail) throw new Error('probe failed on purpose');
    return { body: { ok: true }, audit: { resource: 'probe:1', details: { asked: true, password: body.password } } };
  },
});

test.before(async (t) => {
  let now = T0;
  const log = new AuditLog({ repo: new AuditRepository(openDatabase(':memory:')), now: () => (now += 1000) });
  t.context.log = log;
  t.context.app = await startAdminApp([...auditRoutes({ audit: log }), probe], log.record);
  const { app } = t.context;
  await app.request('POST', '/probe', { token: 'admin-token', body: { fail: false, password: 'hunter2' }, headers: { 'x-request-id': 'req-ok' } });
  await app.request('POST', '/probe', { token: 'admin-token', body: { fail: true } });
  await app.request('POST', '/probe', { token: 'viewer-token', body: { fail: false } });
});
test.after.always(async (t) => t.context.app?.close());

test('admins read entries the router recorded, newest first, with ISO times', async (t) => {
  const res = await t.context.app.request('GET', '/stats/audit', { token: 'admin-token' });
  t.is(res.status, 200);
  t.is(res.body.total, 3);
  t.deepEqual(res.body.items.map((i: { actor: string; outcome: string }) => [i.actor, i.outcome]), [
    ['user:victor', 'failure'],
    ['user:alice', 'failure'],
    ['user:alice', 'success'],
  ]);
  const ok = res.body.items[2];
  t.deepEqual(Object.keys(ok).sort(), ['action', 'actor', 'at', 'count', 'details', 'id', 'ip', 'lastAt', 'outcome', 'requestId', 'resource', 'userAgent']);
  t.like(ok, { action: 'probe.run', resource: 'probe:1', requestId: 'req-ok', userAgent: 'ava-test', at: '2024-05-01T12:00:01.000Z' });
  t.deepEqual(ok.details, { asked: true });
  t.deepEqual(res.body.items[1].details, { error: 'probe failed on purpose' });
});

test('query filters reach the repository', async (t) => {
  const res = await t.context.app.request('GET', '/stats/audit?actor=user:alice&outcome=success&action=probe.&since=2024-05-01T12:00:00Z&limit=5');
  t.is(res.status, 401);
  const ok = await t.context.app.request('GET', '/stats/audit?actor=user:alice&outcome=success&action=probe.&since=2024-05-01T12:00:00Z&limit=5', { token: 'admin-token' });
  t.is(ok.status, 200);
  t.is(ok.body.total, 1);
  const none = await t.context.app.request('GET', '/stats/audit?until=2024-05-01', { token: 'admin-token' });
  t.deepEqual(none.body, { items: [], total: 0 });
});

const badQueries = [
  ['limit above 500', 'limit=501', 'query.limit'],
  ['limit zero', 'limit=0', 'query.limit'],
  ['negative offset', 'offset=-1', 'query.offset'],
  ['unknown outcome', 'outcome=maybe', 'query.outcome'],
  ['since not a date', 'since=yesterday', 'query.since'],
];
for (const [name, query, key] of badQueries) {
  test(`a bad query is 400 naming the parameter: ${name}`, async (t) => {
    const res = await t.context.app.request('GET', `/stats/audit?${query}`, { token: 'admin-token' });
    t.is(res.status, 400);
    t.is(res.body.error.key, key);
  });
}

test('only admins may read the audit log', async (t) => {
  for (const token of ['viewer-token', 'operator-token']) {
    t.is((await t.context.app.request('GET', '/stats/audit', { token })).status, 403);
  }
});

test('the audit and backup routes describe themselves in the OpenAPI document', async (t) => {
  const { openApiDocument } = await import('../../../server/src/admin/framework/openapi.js');
  const { backupRoutes } = await import('../../../server/src/admin/backup/routes.js');
  const routes = [...auditRoutes({ audit: t.context.log }), ...backupRoutes({ backups: { backup: async () => { throw new Error('unused'); }, list: async () => [] } })];
  const paths = openApiDocument(routes, { version: 'test' }).paths as Record<string, Record<string, { parameters: { name: string }[] }>>;
  t.deepEqual(Object.keys(paths).sort(), ['/admin/api/backup', '/admin/api/backups', '/admin/api/stats/audit']);
  t.deepEqual(paths['/admin/api/stats/audit']!.get!.parameters.map((p) => p.name), ['actor', 'action', 'resource', 'outcome', 'since', 'until', 'limit', 'offset']);
});
