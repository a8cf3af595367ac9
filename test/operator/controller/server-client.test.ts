import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  HttpServerClient,
  InvalidSpec,
  NotFound,
  type ServerStatus,
  Unavailable,
  UnexpectedResponse,
} from '../../../operator/src/server-client.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

/** A tiny server following the provider-sets contract; behaviour picked by the set's name. */
async function fakeAdminApi(): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body: raw ? JSON.parse(raw) : undefined });
    const send = (code: number, body?: unknown) => {
      res.writeHead(code, body === undefined ? {} : { 'Content-Type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.headers.authorization !== 'Bearer s3cret') return send(401, { error: { message: 'unauthorized' } });
    if (req.method === 'GET' && req.url === '/admin/api/provider-sets') return send(200, { items: [record] });
    const m = /^\/admin\/api\/provider-sets\/(?:(?:ProviderSet|ProviderMirror)\/)?([^/]+)\/([^/?]+)/.exec(req.url ?? '');
    if (!m) return send(404, { error: { message: 'no route' } });
    const name = m[2];
    if (name === 'broken') return send(503, { error: { message: 'database is locked' } });
    if (name === 'slow') return void setTimeout(() => send(200, status), 500);
    if (req.method === 'PUT') {
      if ((JSON.parse(raw) as { spec: { hcl?: string } }).spec.hcl === 'nonsense') return send(400, { error: { message: 'line 1: unexpected token', line: 1, column: 1 } });
      return send(200, { ...status, observedGeneration: (JSON.parse(raw) as { generation: number }).generation });
    }
    if (req.method === 'GET') return name === 'missing' ? send(404, { error: { message: 'provider set ns/missing not found' } }) : send(200, status);
    if (req.method === 'DELETE') return send(204);
    send(405, { error: { message: 'method not allowed' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }) };
}

const record = { kind: 'ProviderMirror', namespace: 'ns', name: 'aws', uid: 'u2', generation: 3 };

const status: ServerStatus = {
  namespace: 'ns', name: 'a', uid: 'u1', observedGeneration: 1, desired: 2, ready: 2, failed: 0, pending: 0,
  jobId: 4, jobStatus: 'succeeded', failures: [], resolvedVersions: [], problems: [], lastSyncTime: '2026-01-01T00:00:00Z',
};

test('PUT sends the bearer token and the contract body and returns the status', async (t) => {
  const api = await fakeAdminApi();
  t.teardown(api.close);
  const client = new HttpServerClient({ baseUrl: `${api.url}/`, token: 's3cret' });
  const result = await client.put('ns', 'a', { uid: 'u1', generation: 3, kind: 'ProviderSet', spec: { hcl: 'x' }, resync: true });
  t.is(result.observedGeneration, 3);
  t.deepEqual(api.seen[0], {
    method: 'PUT',
    url: '/admin/api/provider-sets/ProviderSet/ns/a',
    authorization: 'Bearer s3cret',
    body: { uid: 'u1', generation: 3, kind: 'ProviderSet', spec: { hcl: 'x' }, resync: true },
  });
});

test('a 400 on PUT is an InvalidSpec carrying the server message', async (t) => {
  const api = await fakeAdminApi();
  t.teardown(api.close);
  const client = new HttpServerClient({ baseUrl: api.url, token: 's3cret' });
  const err = await t.throwsAsync(client.put('ns', 'a', { uid: 'u', generation: 1, kind: 'ProviderSet', spec: { hcl: 'nonsense' } }));
  t.true(err instanceof InvalidSpec);
  t.is(err?.message, 'line 1: unexpected token');
});

test('GET of an unknown set is NotFound and of a known one the status', async (t) => {
  const api = await fakeAdminApi();
  t.teardown(api.close);
  const client = new HttpServerClient({ baseUrl: api.url, token: 's3cret' });
  t.deepEqual(await client.get('ns', 'a'), status);
  t.true((await t.throwsAsync(client.get('ns', 'missing'))) instanceof NotFound);
});

test('DELETE passes purge in the query and accepts 204', async (t) => {
  const api = await fakeAdminApi();
  t.teardown(api.close);
  const client = new HttpServerClient({ baseUrl: api.url, token: 's3cret' });
  await client.delete('ns', 'a', true);
  await client.delete('ns', 'a', false);
  t.deepEqual(api.seen.map((s) => `${s.method} ${s.url}`), [
    'DELETE /admin/api/provider-sets/ns/a?purge=true',
    'DELETE /admin/api/provider-sets/ns/a?purge=false',
  ]);
});

test('GET and DELETE with a kind address the set by kind, namespace and name', async (t) => {
  const api = await fakeAdminApi();
  t.teardown(api.close);
  const client = new HttpServerClient({ baseUrl: api.url, token: 's3cret' });
  await client.get('ns', 'a', 'ProviderMirror');
  await client.delete('ns', 'a', true, 'ProviderMirror');
  await client.put('ns', 'a', { uid: 'u1', generation: 1, kind: 'ProviderMirror', spec: {} });
  t.deepEqual(api.seen.map((s) => `${s.method} ${s.url}`), [
    'GET /admin/api/provider-sets/ProviderMirror/ns/a',
    'DELETE /admin/api/provider-sets/ProviderMirror/ns/a?purge=true',
    'PUT /admin/api/provider-sets/ProviderMirror/ns/a',
  ]);
});

test('a 5xx answer is Unavailable', async (t) => {
  const api = await fakeAdminApi();
  t.teardown(api.close);
  const client = new HttpServerClient({ baseUrl: api.url, token: 's3cret' });
  const err = await t.throwsAsync(client.get('ns', 'broken'));
  t.true(err instanceof Unavailable);
  t.regex(err?.message ?? '', /503 database is locked/);
});

test('a refused connection is Unavailable', async (t) => {
  const api = await fakeAdminApi();
  await api.close();
  const client = new HttpServerClient({ baseUrl: api.url, token: 's3cret' });
  t.true((await t.throwsAsync(client.get('ns', 'a'))) instanceof Unavailable);
});

test('a server slower than the timeout is Unavailable', async (t) => {
  const api = await fakeAdminApi();
  t.teardown(api.close);
  const client = new HttpServerClient({ baseUrl: api.url, token: 's3cret', timeoutMs: 50 });
  const err = await t.throwsAsync(client.get('ns', 'slow'));
  t.true(err instanceof Unavailable);
  t.regex(err?.message ?? '', /timed out after 50 ms/);
});

test('a wrong token is an UnexpectedResponse with its status', async (t) => {
  const api = await fakeAdminApi();
  t.teardown(api.close);
  const client = new HttpServerClient({ baseUrl: api.url, token: 'wrong' });
  const err = await t.throwsAsync(client.get('ns', 'a'));
  t.true(err instanceof UnexpectedResponse);
  t.is((err as UnexpectedResponse).status, 401);
});

test('names are escaped in the path', async (t) => {
  const api = await fakeAdminApi();
  t.teardown(api.close);
  const client = new HttpServerClient({ baseUrl: api.url, token: 's3cret' });
  await client.delete('ns', 'a b', false);
  t.is(api.seen[0]?.url, '/admin/api/provider-sets/ns/a%20b?purge=false');
});

test('list GETs every set record the server holds', async (t) => {
  const api = await fakeAdminApi();
  t.teardown(api.close);
  const client = new HttpServerClient({ baseUrl: api.url, token: 's3cret' });
  t.deepEqual(await client.list(), [record]);
  t.deepEqual(api.seen.map((s) => `${s.method} ${s.url}`), ['GET /admin/api/provider-sets']);
});
