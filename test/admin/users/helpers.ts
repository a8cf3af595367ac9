import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { authRoutes } from '../../../server/src/admin/auth/routes.js';
import { buildAdminRouter, type AuditEntry } from '../../../server/src/admin/framework/router.js';
import { userRoutes } from '../../../server/src/admin/users/routes.js';
import { UserService } from '../../../server/src/admin/users/service.js';
import { errorHandler } from '../../../server/src/http/middleware/errors.js';
import type { Logger } from '../../../server/src/log.js';
import { PASSWORD, setup, type Setup } from '../auth/helpers.js';

export { PASSWORD };

export interface UsersApp {
  s: Setup;
  audit: AuditEntry[];
  call(method: string, path: string, opts?: { token?: string; body?: unknown }): Promise<{ status: number; body: Record<string, any> | undefined }>;
  login(username: string, password?: string): Promise<string>;
}

/** The auth and user routes with the real AuthService, router and error middleware, on a random port. */
export async function serveUsers(t: { teardown(fn: () => void): void }): Promise<UsersApp> {
  const s = await setup();
  const audit: AuditEntry[] = [];
  const sink = { record: (e: AuditEntry) => void audit.push(e), recordLoginRefusal: (e: AuditEntry) => void audit.push(e) };
  const routes = [...authRoutes({ auth: s.auth, audit: sink }), ...userRoutes({ users: new UserService(s.repos, s.auth) })];
  const app = new Koa();
  app.use(async (ctx, next) => {
    ctx.state.requestId = 'req-1';
    ctx.state.log = { error: () => undefined } as unknown as Logger;
    await next();
  });
  app.use(errorHandler());
  app.use(buildAdminRouter(routes, { authenticate: (b) => s.auth.authenticate(b), audit: (e) => audit.push(e) }).routes());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/api`;
  const call: UsersApp['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
  };
  const login = async (username: string, password = PASSWORD) => {
    const res = await call('POST', '/auth/login', { body: { username, password } });
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body!.token as string;
  };
  return { s, audit, call, login };
}
