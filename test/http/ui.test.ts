import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import Koa from 'koa';
import { defaultUiDir, uiMiddleware } from '../../server/src/http/ui.js';
import { rawRequest, startMirror } from '../fixtures/mirror-server.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const INDEX = '<!doctype html><html><head><script type="module" src="/ui/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>';
const ASSET = 'console.log("ui")';

/** A built UI in a temp dir, served by the UI middleware in front of a stand-in for the mirror's routes. */
async function serveUi(t: ExecutionContext, opts: { built?: boolean } = {}): Promise<string> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-ui-'));
  const dir = path.join(root, 'ui');
  fs.mkdirSync(path.join(dir, 'assets'), { recursive: true });
  if (opts.built ?? true) {
    fs.writeFileSync(path.join(dir, 'index.html'), INDEX);
    fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), ASSET);
    fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  }
  // Beside the UI directory: what a traversal would reach.
  fs.writeFileSync(path.join(root, 'secret.txt'), 'do not serve');
  const app = new Koa();
  app.use(uiMiddleware({ dir }));
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: { message: 'mirror route' } };
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function assertUiHeaders(t: ExecutionContext, headers: http.IncomingHttpHeaders, what: string): void {
  t.is(headers['content-security-policy'], CSP, `${what}: CSP`);
  t.is(headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  t.is(headers['referrer-policy'], 'no-referrer', `${what}: referrer policy`);
}

test('hashed assets are cached for a year as immutable, with their content type', async (t) => {
  const base = await serveUi(t);
  const res = await rawRequest(base, '/ui/assets/index-abc123.js');
  t.is(res.status, 200);
  t.is(res.body.toString(), ASSET);
  t.is(res.headers['cache-control'], 'public, max-age=31536000, immutable');
  t.is(res.headers['content-type'], 'text/javascript; charset=utf-8');
  assertUiHeaders(t, res.headers, 'asset');
});

test('index.html is revalidated on every load, and answers 304 to its own ETag', async (t) => {
  const base = await serveUi(t);
  const res = await rawRequest(base, '/ui/');
  t.is(res.status, 200);
  t.is(res.body.toString(), INDEX);
  t.is(res.headers['cache-control'], 'no-cache');
  t.regex(String(res.headers['content-type']), /^text\/html/);
  assertUiHeaders(t, res.headers, 'index');
  const again = await rawRequest(base, '/ui/', { headers: { 'If-None-Match': String(res.headers.etag) } });
  t.is(again.status, 304);
  t.is(again.body.length, 0);
});

test('client-side routes without a file get index.html; a missing hashed asset is a 404, not HTML', async (t) => {
  const base = await serveUi(t);
  for (const p of ['/ui/providers', '/ui/providers/12', '/ui/jobs/3?tab=items', '/ui/login']) {
    const res = await rawRequest(base, p);
    t.is(res.status, 200, p);
    t.is(res.body.toString(), INDEX, p);
    t.is(res.headers['cache-control'], 'no-cache', p);
    assertUiHeaders(t, res.headers, p);
  }
  const missing = await rawRequest(base, '/ui/assets/index-old999.js');
  t.is(missing.status, 404);
  t.notRegex(missing.body.toString(), /<html/);
  assertUiHeaders(t, missing.headers, 'missing asset');
  const icon = await rawRequest(base, '/ui/favicon.svg');
  t.is(icon.status, 200);
  t.is(icon.headers['content-type'], 'image/svg+xml');
  t.is(icon.headers['cache-control'], 'no-cache', 'an unhashed file is revalidated');
});

test('a browser opening / is sent to /ui/; other requests for / and /ui are left to the mirror or redirected', async (t) => {
  const base = await serveUi(t);
  const browser = await rawRequest(base, '/', { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  t.is(browser.status, 302);
  t.is(browser.headers.location, '/ui/');
  assertUiHeaders(t, browser.headers, 'redirect');
  for (const accept of ['*/*', 'application/json', '']) {
    const other = await rawRequest(base, '/', { headers: accept ? { Accept: accept } : {} });
    t.is(other.status, 404, `Accept: ${accept || '(none)'}`);
    t.deepEqual(JSON.parse(other.body.toString()), { error: { message: 'mirror route' } });
  }
  const post = await rawRequest(base, '/', { method: 'POST', headers: { Accept: 'text/html' } });
  t.is(post.status, 404, 'only GET and HEAD are redirected');
  const bare = await rawRequest(base, '/ui');
  t.is(bare.status, 302);
  t.is(bare.headers.location, '/ui/');
  const notUi = await rawRequest(base, '/uix/index.json');
  t.is(notUi.status, 404, 'a path that only starts with "ui" is not the UI');
  t.is(notUi.headers['content-security-policy'], undefined);
});

test('paths that leave the UI directory are refused, however they are spelled', async (t) => {
  const base = await serveUi(t);
  for (const p of ['/ui/../secret.txt', '/ui/assets/../../secret.txt', '/ui/%2e%2e/secret.txt', '/ui/assets/%2E%2E%2F..%2Fsecret.txt', '/ui/..%5csecret.txt', '/ui/%00', '/ui/%E0%A4%A']) {
    const res = await rawRequest(base, p);
    t.is(res.status, 400, p);
    t.notRegex(res.body.toString(), /do not serve/, p);
    assertUiHeaders(t, res.headers, p);
  }
});

test('only GET and HEAD reach the UI; HEAD has the headers without the body', async (t) => {
  const base = await serveUi(t);
  const put = await rawRequest(base, '/ui/', { method: 'PUT' });
  t.is(put.status, 405);
  t.is(put.headers.allow, 'GET, HEAD');
  const head = await rawRequest(base, '/ui/assets/index-abc123.js', { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers['content-length'], String(Buffer.byteLength(ASSET)));
  t.is(head.body.length, 0);
});

test('an unbuilt UI answers 503 saying how to build it, for every UI path', async (t) => {
  const base = await serveUi(t, { built: false });
  for (const p of ['/ui/', '/ui/providers', '/ui/assets/index-abc123.js']) {
    const res = await rawRequest(base, p);
    t.is(res.status, 503, p);
    t.regex(res.body.toString(), /npm run build:ui/, p);
    assertUiHeaders(t, res.headers, p);
  }
});

const uiBuilt = fs.existsSync(path.join(defaultUiDir(), 'index.html'));

test('serve mounts the UI beside the admin API: /ui/ with its CSP, / redirects browsers, index.json still answers', async (t) => {
  const mirror = await startMirror([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.1': ['linux_amd64'] } }]);
  t.teardown(() => mirror.close());
  const ui = await rawRequest(mirror.serving.url, '/ui/providers');
  t.is(ui.status, uiBuilt ? 200 : 503, uiBuilt ? 'the built UI is served' : 'no build: the 503 says how to build');
  assertUiHeaders(t, ui.headers, '/ui/providers');
  const browser = await rawRequest(mirror.serving.url, '/', { headers: { Accept: 'text/html' } });
  t.is(browser.status, 302);
  t.is(browser.headers.location, '/ui/');
  const index = await rawRequest(mirror.serving.url, '/registry.terraform.io/hashicorp/null/index.json');
  t.is(index.status, 200);
  t.deepEqual(JSON.parse(index.body.toString()), { versions: { '3.2.1': {} } });
});

test('with an admin listener the UI is served there, with the admin API, and not on the mirror listener', async (t) => {
  const mirror = await startMirror([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.1': ['linux_amd64'] } }], { TFM_SERVER_ADMIN_LISTEN: '127.0.0.1:0' });
  t.teardown(() => mirror.close());
  const onAdmin = await rawRequest(mirror.serving.adminUrl!, '/ui/');
  assertUiHeaders(t, onAdmin.headers, 'admin listener');
  t.is(onAdmin.status, uiBuilt ? 200 : 503);
  const onMirror = await rawRequest(mirror.serving.url, '/ui/');
  t.is(onMirror.status, 404);
  t.is(onMirror.headers['content-security-policy'], undefined);
});
