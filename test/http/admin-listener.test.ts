import test from 'ava';
import { startMirror } from '../fixtures/mirror-server.js';

const PROVIDERS = [{ namespace: 'acme', type: 'thing', versions: { '1.0.0': ['linux_amd64'] } }];

async function status(base: string, path: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(new URL(path, base), init);
  await res.arrayBuffer();
  return res.status;
}

const login: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'nobody', password: 'wrong password here' }) };

test('with admin_listen the admin API and /metrics answer only on the admin port, the mirror only on the main port', async (t) => {
  const m = await startMirror(PROVIDERS, { TFM_SERVER_ADMIN_LISTEN: '127.0.0.1:0' });
  t.teardown(() => m.close());
  const main = m.serving.url;
  const admin = m.serving.adminUrl;
  if (!admin) return t.fail('serve reported no admin listener');
  t.not(new URL(admin).port, new URL(main).port);

  t.is(await status(main, '/admin/api/openapi.json'), 404);
  t.is(await status(main, '/admin/api/auth/login', login), 404);
  t.is(await status(main, '/metrics'), 404);
  t.is(await status(main, '/registry.terraform.io/acme/thing/index.json'), 200);
  t.is(await status(main, '/healthz'), 200);

  t.is(await status(admin, '/admin/api/openapi.json'), 200);
  t.is(await status(admin, '/admin/api/auth/login', login), 401);
  t.is(await status(admin, '/metrics'), 200);
  t.is(await status(admin, '/readyz'), 200, 'probes work on the admin port too');
  t.is(await status(admin, '/registry.terraform.io/acme/thing/index.json'), 404, 'no mirror routes on the admin port');
  t.is(await status(admin, '/.well-known/terraform.json'), 404);
  const body = (await (await fetch(new URL('/registry.terraform.io/acme/thing/index.json', admin))).json()) as { error: { message: string } };
  t.truthy(body.error.message, 'the admin port answers JSON errors');
});

test('without admin_listen the admin API, /metrics and the mirror share the main port', async (t) => {
  const m = await startMirror(PROVIDERS);
  t.teardown(() => m.close());
  t.is(m.serving.adminUrl, undefined);
  t.is(await status(m.serving.url, '/admin/api/openapi.json'), 200);
  t.is(await status(m.serving.url, '/admin/api/auth/login', login), 401);
  t.is(await status(m.serving.url, '/metrics'), 200);
  t.is(await status(m.serving.url, '/registry.terraform.io/acme/thing/index.json'), 200);
});
