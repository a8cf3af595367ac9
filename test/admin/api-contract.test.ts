import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import pino from 'pino';
import { startServing, type Serving } from '../../server/src/commands/serve.js';
import { loadConfig } from '../../server/src/config/load.js';
import { runCli } from '../fixtures/tfmirror.js';

interface Ctx {
  dir: string;
  serving: Serving;
  logs: string[];
  base: string;
  admin: string;
  viewer: string;
}
const test = anyTest as TestFn<Ctx>;

const PASSWORD = 'a long and unguessable passphrase 42';
// auth.operator_token must carry 32 random bytes (43+ base64url characters).
const OPERATOR = 'bootstrap-operator-token-for-tests-Qz7xW2kP9m';

async function call(base: string, method: string, p: string, token?: string, body?: unknown) {
  const res = await fetch(base + p, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

test.before(async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-admin-'));
  const env = { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_SERVER_TLS: 'false', TFM_AUTH_OPERATOR_TOKEN: OPERATOR };
  const created = await runCli(['create-admin', '--username', 'alice'], env, { input: `${PASSWORD}\n` });
  if (created.code !== 0) throw new Error(created.stderr);
  const logs: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (logs.push(chunk.toString()), cb()) });
  const serving = await startServing(await loadConfig({ env, cwd: dir }), pino({ level: 'debug' }, sink));
  const base = serving.url.replace(/\/$/, '');
  const login = await call(base, 'POST', '/admin/api/auth/login', undefined, { username: 'alice', password: PASSWORD });
  if (login.status !== 200) throw new Error(login.text);
  const admin = login.json!.token as string;
  const viewer = (await call(base, 'POST', '/admin/api/tokens', admin, { name: 'dashboards', role: 'viewer' })).json!.token as string;
  t.context = { dir, serving, logs, base, admin, viewer };
});
test.after.always(async (t) => {
  await t.context.serving?.shutdown();
  if (t.context.dir) fs.rmSync(t.context.dir, { recursive: true, force: true });
});

interface Operation {
  method: string;
  path: string;
  roles: string[];
  secured: boolean;
}

async function operations(base: string): Promise<Operation[]> {
  const doc = (await call(base, 'GET', '/admin/api/openapi.json')).json as { paths: Record<string, Record<string, { 'x-roles': string[]; security?: unknown }>> };
  return Object.entries(doc.paths).flatMap(([p, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path: p.replace(/\{\w+\}/g, '1'), roles: op['x-roles'], secured: op.security !== undefined })),
  );
}

test.serial('every secured route in the OpenAPI document answers 401 without a token', async (t) => {
  const ops = await operations(t.context.base);
  t.true(ops.filter((o) => o.secured).length >= 15, `${ops.length} operations`);
  for (const op of ops.filter((o) => o.secured)) {
    const res = await call(t.context.base, op.method, op.path, undefined, op.method === 'GET' || op.method === 'DELETE' ? undefined : {});
    t.is(res.status, 401, `${op.method} ${op.path}`);
    t.is(res.headers.get('www-authenticate'), 'Bearer');
  }
});

test.serial('a role that may not use a route gets 403 (viewer and operator)', async (t) => {
  const ops = await operations(t.context.base);
  for (const [role, token] of [['viewer', t.context.viewer], ['operator', OPERATOR]] as const) {
    const denied = ops.filter((o) => o.secured && !o.roles.includes(role));
    t.true(denied.length > 0);
    for (const op of denied) {
      const res = await call(t.context.base, op.method, op.path, token, op.method === 'GET' || op.method === 'DELETE' ? undefined : {});
      t.is(res.status, 403, `${role} ${op.method} ${op.path}`);
    }
  }
});

test.serial('every admin route the app serves is in the OpenAPI document', async (t) => {
  const documented = new Set((await operations(t.context.base)).map((o) => `${o.method} ${o.path}`));
  // @koa/router attaches itself to its dispatch middleware: find every admin route actually mounted.
  const mounted = t.context.serving.app.middleware
    .map((m) => (m as unknown as { router?: { stack: { path: string; methods: string[] }[] } }).router)
    .filter((r) => r !== undefined)
    .flatMap((r) => r.stack)
    .filter((layer) => layer.path.startsWith('/admin/api'))
    .flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${layer.path.replace(/:\w+/g, '1')}`));
  t.true(mounted.length >= documented.size - 1);
  for (const r of mounted) t.true(documented.has(r), `${r} is mounted but not documented`);
});

test.serial('the module routes are in the OpenAPI document: viewers read, admins change', async (t) => {
  const ops = (await operations(t.context.base)).filter((o) => o.path.startsWith('/admin/api/modules'));
  t.deepEqual(ops.map((o) => `${o.method} ${o.path} ${o.roles.join(',')}`).sort(), [
    'DELETE /admin/api/modules/1 admin',
    'DELETE /admin/api/modules/1/versions/1 admin',
    'GET /admin/api/modules admin,viewer',
    'GET /admin/api/modules/1 admin,viewer',
    'PATCH /admin/api/modules/1 admin',
    'POST /admin/api/modules/1/drift admin',
  ]);
  const list = await call(t.context.base, 'GET', '/admin/api/modules', t.context.viewer);
  t.is(list.status, 200);
  t.like(list.json, { items: [], total: 0 });
});

test.serial('logout revokes the session on its next use; the password never appears in logs or responses', async (t) => {
  const { base } = t.context;
  const login = await call(base, 'POST', '/admin/api/auth/login', undefined, { username: 'alice', password: PASSWORD });
  t.false(login.text.includes(PASSWORD));
  const token = login.json!.token as string;
  t.is((await call(base, 'GET', '/admin/api/auth/me', token)).status, 200);
  t.is((await call(base, 'POST', '/admin/api/auth/logout', token)).status, 204);
  t.is((await call(base, 'GET', '/admin/api/auth/me', token)).status, 401);
  const wrong = await call(base, 'POST', '/admin/api/auth/login', undefined, { username: 'alice', password: `${PASSWORD}x` });
  t.is(wrong.status, 401);
  const unknown = await call(base, 'POST', '/admin/api/auth/login', undefined, { username: 'mallory', password: PASSWORD });
  t.is(unknown.json!.error.message, wrong.json!.error.message, 'same answer for unknown user and wrong password');
  const logs = t.context.logs.join('');
  t.true(logs.includes('/admin/api/auth/login'), 'requests were logged');
  t.false(logs.includes(PASSWORD));
  t.false(logs.includes(token), 'bearer tokens are not logged');
});

test.serial('repeated wrong passwords are throttled with 429 and Retry-After', async (t) => {
  const { base } = t.context;
  let last = { status: 0, headers: new Headers() };
  for (let i = 0; i < 8 && last.status !== 429; i++) {
    last = await call(base, 'POST', '/admin/api/auth/login', undefined, { username: 'bob', password: 'not the password at all' });
  }
  t.is(last.status, 429);
  t.true(Number(last.headers.get('retry-after')) >= 1);
});

test.serial('mutations and logins are in the audit log with who, what, address and outcome', async (t) => {
  const { base, admin } = t.context;
  const res = await call(base, 'GET', '/admin/api/stats/audit?limit=500', admin);
  t.is(res.status, 200);
  const items = res.json!.items as { actor: string; action: string; outcome: string; ip: string; userAgent: string }[];
  t.true(items.some((i) => i.action === 'auth.login' && i.outcome === 'success' && i.actor === 'user:alice' && i.ip.length > 0));
  t.true(items.some((i) => i.action === 'auth.login' && i.outcome === 'failure'));
  t.true(items.some((i) => i.action === 'token.create' && i.actor === 'user:alice'));
  t.true(items.some((i) => i.action === 'auth.logout'));
});

test.serial('/metrics exposes requests by route and status', async (t) => {
  const res = await fetch(`${t.context.base}/metrics`);
  t.is(res.status, 200);
  const text = await res.text();
  t.regex(text, /http_requests_total\{method="POST",route="\/admin\/api\/auth\/login",status="200"\} \d+/);
  t.regex(text, /http_request_duration_seconds_bucket/);
  t.regex(text, /job_items\{status="failed"\} 0/);
});
