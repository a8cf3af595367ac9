import type { AddressInfo } from 'node:net';
import test from 'ava';
import Koa from 'koa';
import { AuditLog } from '../../../server/src/admin/audit/log.js';
import { authRoutes } from '../../../server/src/admin/auth/routes.js';
import { buildAdminRouter } from '../../../server/src/admin/framework/router.js';
import { errorHandler } from '../../../server/src/http/middleware/errors.js';
import type { Logger } from '../../../server/src/log.js';
import { PASSWORD, setup } from '../auth/helpers.js';

/** The auth routes with the real AuditLog over the setup's database, on a random port. */
async function serve(t: { teardown(fn: () => void): void }) {
  const s = await setup();
  const log = new AuditLog({ repo: s.repos.audit, now: s.clock.now });
  const app = new Koa();
  app.use(async (ctx, next) => {
    ctx.state.requestId = 'req-1';
    ctx.state.log = { error: () => undefined } as unknown as Logger;
    await next();
  });
  app.use(errorHandler());
  app.use(buildAdminRouter(authRoutes({ auth: s.auth, audit: log }), { authenticate: (b) => s.auth.authenticate(b), audit: log.record }).routes());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/api`;
  const login = async (username: string, password: string) => {
    const res = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    await res.arrayBuffer();
    return res.status;
  };
  const loginRows = () => log.query({ action: 'auth.login', limit: 500, offset: 0 }).items;
  return { s, log, login, loginRows };
}

test('50 refused sign-ins of one username from one address are one audit entry carrying count 50', async (t) => {
  const { s, login, loginRows } = await serve(t);
  await s.addUser('admin');
  const statuses: number[] = [];
  for (let i = 0; i < 50; i++) statuses.push(await login('admin', `Wrong-guess-${i}`));
  t.is(statuses.filter((x) => x === 401).length, 5);
  t.is(statuses.filter((x) => x === 429).length, 45);
  const rows = loginRows();
  t.is(rows.length, 1);
  t.like(rows[0], { outcome: 'failure', actor: 'anonymous', count: 50 });
  t.deepEqual(JSON.parse(rows[0]!.details!), { username: 'admin', invalid: 5, throttled: 45 });
  t.truthy(rows[0]!.lastAt);
  t.false(JSON.stringify(rows).includes('Wrong-guess'), 'no password is audited');
});

test('refusals start a new entry per username and per 15 minute window; a success is an entry of its own', async (t) => {
  const { s, login, loginRows } = await serve(t);
  await s.addUser('admin');
  await login('admin', 'Wrong-guess-1');
  await login('Admin', 'Wrong-guess-2'); // one account, whatever the letter case
  await login('nobody', 'Wrong-guess-3');
  s.clock.advance(15 * 60_000);
  await login('admin', 'Wrong-guess-4');
  t.is(await login('admin', PASSWORD), 200);
  const rows = loginRows();
  t.deepEqual(rows.map((r) => [r.outcome, r.count]).sort(), [['failure', 1], ['failure', 1], ['failure', 2], ['success', 1]].sort());
  t.true(rows.some((r) => r.outcome === 'success' && r.actor === 'user:admin' && r.resource === 'user:1'));
});
