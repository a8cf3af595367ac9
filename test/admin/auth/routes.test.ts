import type { AddressInfo } from 'node:net';
import test from 'ava';
import Koa from 'koa';
import { authRoutes } from '../../../server/src/admin/auth/routes.js';
import { openApiDocument } from '../../../server/src/admin/framework/openapi.js';
import { buildAdminRouter, type AuditEntry } from '../../../server/src/admin/framework/router.js';
import { errorHandler } from '../../../server/src/http/middleware/errors.js';
import type { Logger } from '../../../server/src/log.js';
import { PASSWORD, setup } from './helpers.js';

/** The auth routes behind the real admin router and error middleware, on a random port. */
async function serve(t: { teardown(fn: () => void): void }) {
  const s = await setup();
  const audit: AuditEntry[] = [];
  const app = new Koa();
  app.use(async (ctx, next) => {
    ctx.state.requestId = 'req-1';
    ctx.state.log = { error: () => undefined } as unknown as Logger;
    await next();
  });
  app.use(errorHandler());
  // Refusals land in the same list, as entries carrying the attempted username and the reason.
  const sink = { record: (e: AuditEntry) => void audit.push(e), recordLoginRefusal: (e: AuditEntry, username: string, reason: string) => void audit.push({ ...e, details: { username, reason } }) };
  app.use(buildAdminRouter(authRoutes({ auth: s.auth, audit: sink }), { authenticate: (b) => s.auth.authenticate(b), audit: (e) => audit.push(e) }).routes());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/api`;
  const call = async (method: string, path: string, opts: { token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = { 'user-agent': 'routes-test' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
  };
  const login = async (username: string) => (await call('POST', '/auth/login', { body: { username, password: PASSWORD } })).body!.token as string;
  return { s, audit, call, login };
}

test('POST /auth/login answers 200 {token, expiresAt}, uncached, and audits the user', async (t) => {
  const { s, audit, call } = await serve(t);
  await s.addUser('alice');
  const res = await call('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } });
  t.is(res.status, 200);
  t.deepEqual(Object.keys(res.body!).sort(), ['expiresAt', 'token']);
  t.is(res.headers.get('cache-control'), 'no-store');
  t.like(audit.at(-1), { action: 'auth.login', outcome: 'success', actor: 'user:alice', resource: 'user:1', userAgent: 'routes-test' });
});

test('POST /auth/login with bad credentials is 401 and audited as an anonymous failure', async (t) => {
  const { s, audit, call } = await serve(t);
  await s.addUser('alice');
  const wrong = await call('POST', '/auth/login', { body: { username: 'alice', password: 'Wrong-password-1' } });
  const unknown = await call('POST', '/auth/login', { body: { username: 'nobody', password: 'Wrong-password-1' } });
  t.is(wrong.status, 401);
  t.deepEqual(wrong.body, unknown.body);
  t.like(audit.at(-1), { action: 'auth.login', outcome: 'failure', actor: 'anonymous' });
  t.false(JSON.stringify(audit).includes('Wrong-password-1'), 'the password is never audited');
});

test('POST /auth/login when throttled is 429 with a growing Retry-After', async (t) => {
  const { s, call } = await serve(t);
  await s.addUser('alice');
  for (let i = 0; i < 5; i++) await call('POST', '/auth/login', { body: { username: 'alice', password: 'Wrong-password-1' } });
  const first = await call('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } });
  t.is(first.status, 429);
  t.is(first.headers.get('retry-after'), '1');
  s.clock.advance(1_000);
  await call('POST', '/auth/login', { body: { username: 'alice', password: 'Wrong-password-1' } });
  t.is((await call('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).headers.get('retry-after'), '2');
});

test('POST /auth/login rejects a malformed body with 400', async (t) => {
  const { call } = await serve(t);
  t.is((await call('POST', '/auth/login', { body: { username: 'alice' } })).status, 400);
});

test('POST /auth/logout revokes the presented token', async (t) => {
  const { s, call, login, audit } = await serve(t);
  await s.addUser('alice');
  const token = await login('alice');
  t.is((await call('GET', '/auth/me', { token })).status, 200);
  t.is((await call('POST', '/auth/logout', { token })).status, 204);
  t.like(audit.at(-1), { action: 'auth.logout', outcome: 'success', actor: 'user:alice' });
  t.is((await call('GET', '/auth/me', { token })).status, 401);
});

test('POST /auth/logout with an API token says how to revoke it instead', async (t) => {
  const { s, call, login } = await serve(t);
  await s.addUser('alice');
  const created = await call('POST', '/tokens', { token: await login('alice'), body: { name: 'ci', role: 'viewer' } });
  const res = await call('POST', '/auth/logout', { token: created.body!.token });
  t.is(res.status, 400);
  t.regex(res.body!.error.message, /DELETE \/admin\/api\/tokens/);
});

test('GET /auth/me describes the caller without secrets', async (t) => {
  const { s, call, login } = await serve(t);
  await s.addUser('alice');
  const res = await call('GET', '/auth/me', { token: await login('alice') });
  t.like(res.body, { kind: 'user', actor: 'user:alice', role: 'admin', user: { id: 1, username: 'alice', role: 'admin' } });
  t.false(JSON.stringify(res.body).includes('$2b$'));
});

test('GET /auth/sessions lists own sessions; a viewer cannot revoke an admin session', async (t) => {
  const { s, call, login } = await serve(t);
  await s.addUser('alice');
  await s.addUser('victor', 'viewer');
  const alice = await login('alice');
  const victor = await login('victor');
  const list = await call('GET', '/auth/sessions', { token: alice });
  t.is(list.body!.sessions.length, 1);
  t.like(list.body!.sessions[0], { current: true, userAgent: 'routes-test' });
  const aliceSession = list.body!.sessions[0].id as string;
  t.is((await call('DELETE', `/auth/sessions/${aliceSession}`, { token: victor })).status, 404);
  t.is((await call('GET', '/auth/me', { token: alice })).status, 200);
  t.is((await call('DELETE', `/auth/sessions/${aliceSession}`, { token: alice })).status, 204);
  t.is((await call('GET', '/auth/me', { token: alice })).status, 401);
});

test('API tokens: admins create (201, secret once), list (no secrets) and revoke them; others may not', async (t) => {
  const { s, call, login, audit } = await serve(t);
  await s.addUser('alice');
  await s.addUser('victor', 'viewer');
  const admin = await login('alice');
  t.is((await call('POST', '/tokens', { token: await login('victor'), body: { name: 'x', role: 'viewer' } })).status, 403);
  const created = await call('POST', '/tokens', { token: admin, body: { name: 'ci', role: 'operator', expiresInDays: 30 } });
  t.is(created.status, 201);
  t.like(created.body, { id: 1, role: 'operator' });
  t.is(created.headers.get('cache-control'), 'no-store');
  t.like(audit.at(-1), { action: 'token.create', actor: 'user:alice', resource: 'token:1' });
  const secret = created.body!.token as string;
  t.like((await call('GET', '/auth/me', { token: secret })).body, { kind: 'token', actor: 'token:ci#1', role: 'operator' });
  const listed = await call('GET', '/tokens', { token: admin });
  t.false(JSON.stringify(listed.body).includes(secret.slice(4)));
  t.like(listed.body!.tokens[0], { id: 1, name: 'ci', prefix: secret.slice(4, 12), revokedAt: null });
  t.is((await call('GET', '/tokens', { token: secret })).status, 403, 'an operator token may not list tokens');
  t.is((await call('DELETE', '/tokens/1', { token: admin })).status, 204);
  t.like(audit.at(-1), { action: 'token.revoke', resource: 'token:1' });
  t.is((await call('GET', '/auth/me', { token: secret })).status, 401);
  t.is((await call('DELETE', '/tokens/99', { token: admin })).status, 404);
});

test('the auth routes produce an OpenAPI document', (t) => {
  const doc = openApiDocument(authRoutes({ auth: {} as never, audit: {} as never }), { version: 'test' }) as { paths: Record<string, Record<string, unknown>> };
  t.deepEqual(Object.keys(doc.paths).sort(), [
    '/admin/api/auth/login', '/admin/api/auth/logout', '/admin/api/auth/me', '/admin/api/auth/sessions',
    '/admin/api/auth/sessions/{id}', '/admin/api/tokens', '/admin/api/tokens/{id}',
  ]);
});
