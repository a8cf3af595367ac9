/** A small admin API app for route tests: the real router, error mapping and request context, fake tokens. */
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import Koa from 'koa';
import pino from 'pino';
import { buildAdminRouter, type AuditEntry } from '../../../server/src/admin/framework/router.js';
import type { RouteSpec } from '../../../server/src/admin/framework/route.js';
import type { Principal } from '../../../server/src/admin/principal.js';
import { errorHandler } from '../../../server/src/http/middleware/errors.js';
import { requestContext } from '../../../server/src/http/middleware/request-context.js';

export const TOKENS: Record<string, Principal> = {
  'admin-token': { kind: 'user', actor: 'user:alice', role: 'admin', userId: 1 },
  'viewer-token': { kind: 'user', actor: 'user:victor', role: 'viewer', userId: 2 },
  'operator-token': { kind: 'bootstrap', actor: 'operator-token', role: 'operator' },
};

export interface TestApp {
  url: string;
  request(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startAdminApp(routes: RouteSpec[], audit?: (entry: AuditEntry) => void): Promise<TestApp> {
  const app = new Koa();
  app.silent = true;
  app.use(requestContext(pino({ level: 'silent' })));
  app.use(errorHandler());
  const router = buildAdminRouter(routes, { authenticate: async (bearer) => TOKENS[bearer], audit });
  app.use(router.routes());
  app.use(router.allowedMethods());
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { 'user-agent': 'ava-test', ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}/admin/api${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
