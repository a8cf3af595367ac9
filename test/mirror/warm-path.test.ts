import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import pino from 'pino';
import { TrustedProxies } from '../../server/src/http/forwarded.js';
import { warmDocuments } from '../../server/src/mirror/warm-path.js';
import type { Document, MirrorService } from '../../server/src/mirror/service.js';
import { openRuntime } from '../../server/src/runtime.js';
import { rawRequest, startMirror } from '../fixtures/mirror-server.js';

const INDEX = '/registry.terraform.io/hashicorp/null/index.json';
const VERSION = '/registry.terraform.io/hashicorp/null/3.2.2.json';

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Headers that differ between any two answers. */
const volatile = new Set(['x-request-id', 'date']);
const stable = (h: http.IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k]) => !volatile.has(k)));

test('a warm document answers with the status, headers and bytes of the first, cold answer, and counts into the same metrics', async (t) => {
  const m = await startMirror([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.2': ['linux_amd64', 'darwin_arm64'] } }]);
  t.teardown(() => m.close());
  for (const path of [INDEX, VERSION]) {
    const cold = await rawRequest(m.serving.url, path);
    const warm = await rawRequest(m.serving.url, path);
    t.is(cold.status, 200);
    t.deepEqual(stable(warm.headers), stable(cold.headers), path);
    t.deepEqual(warm.body, cold.body, path);
    t.regex(String(warm.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  }
  const metrics = (await rawRequest(m.serving.url, '/metrics')).body.toString();
  const series = /http_requests_total\{method="GET",route="\/:hostname\/:namespace\/:type\/:file",status="200"\} (\d+)/.exec(metrics);
  t.is(series?.[1], '4');
  // Each document: one miss that rendered it, one hit on the warm path.
  t.is(/mirror_cache_hits_total (\d+)/.exec(metrics)?.[1], '2');
});

test('a warm document keeps the client request id, and a conditional GET still gets its 304', async (t) => {
  const m = await startMirror([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.2': ['linux_amd64'] } }]);
  t.teardown(() => m.close());
  const first = await rawRequest(m.serving.url, INDEX);
  const warm = await rawRequest(m.serving.url, INDEX, { headers: { 'x-request-id': 'ci-job-42' } });
  t.is(warm.headers['x-request-id'], 'ci-job-42');
  const conditional = await rawRequest(m.serving.url, INDEX, { headers: { 'if-none-match': String(first.headers.etag) } });
  t.is(conditional.status, 304);
  t.is(conditional.body.length, 0);
});

test('a write by another process reaches warm documents: a new version is listed, a deprecation adds the Warning', async (t) => {
  const m = await startMirror([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.2': ['linux_amd64'] } }]);
  t.teardown(() => m.close());
  await rawRequest(m.serving.url, INDEX);
  t.is((await rawRequest(m.serving.url, INDEX)).headers.warning, undefined);
  await m.importMore([{ namespace: 'hashicorp', type: 'null', versions: { '3.3.0': ['linux_amd64'] } }]);
  await eventually('the new version', async () => (await rawRequest(m.serving.url, INDEX)).body.toString().includes('3.3.0'));

  const runtime = await openRuntime(m.config);
  try {
    const provider = runtime.providers.findProvider({ hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' })!;
    runtime.providers.setStatus(provider.id, 'deprecated');
  } finally {
    runtime.close();
  }
  await eventually('the Warning', async () => (await rawRequest(m.serving.url, INDEX)).headers.warning !== undefined);
  t.regex(String((await rawRequest(m.serving.url, INDEX)).headers.warning), /^299 - "This provider is deprecated/);
  t.regex(String((await rawRequest(m.serving.url, VERSION)).headers.warning), /^299 - "This provider is deprecated/);
});

/** The warm path alone in front of a fallback that answers 418: what it takes, and what it leaves to the full app. */
async function warmOnly(t: import('ava').ExecutionContext, peek: (path: unknown) => Document | undefined) {
  const lines: unknown[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const observed: number[] = [];
  const warm = warmDocuments({ mirror: { peekDocument: peek } as unknown as MirrorService, logger, trustedProxies: new TrustedProxies([]), observe: (s) => observed.push(s) });
  const server = http.createServer((req, res) => {
    if (!warm(req, res)) res.writeHead(418).end('full app');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, lines, observed };
}

const doc = (status: Document['status'] = 'active'): Document => ({ body: Buffer.from('{"versions":{}}'), etag: '"abc"', status });

test('the warm path takes only an unconditional GET of a cached document; everything else reaches the full app untouched', async (t) => {
  const asked: unknown[] = [];
  const w = await warmOnly(t, (path) => (asked.push(path), doc()));
  const cases: [string, { method?: string; headers?: Record<string, string> }][] = [
    [INDEX, { method: 'HEAD' }],
    [INDEX, { method: 'POST' }],
    [INDEX, { headers: { 'if-none-match': '"abc"' } }],
    [INDEX, { headers: { 'if-modified-since': 'Tue, 01 Dec 2026 00:00:00 GMT' } }],
    ['/registry.terraform.io/hashicorp/nu%6cl/index.json', {}],
    ['/registry.terraform.io/hashicorp/null/terraform-provider-null_3.2.2_linux_amd64.zip', {}],
    ['/registry.terraform.io/hashicorp/null/3.2.2/terraform-provider-null_3.2.2_linux_amd64.zip', {}],
    ['/registry.terraform.io/hashicorp/null/not-a-version.json', {}],
    ['/registry.terraform.io/../null/index.json', {}],
    ['/admin/api/providers', {}],
    ['/healthz', {}],
  ];
  for (const [path, opts] of cases) {
    const res = await rawRequest(w.url, path, opts);
    t.is(res.status, 418, `${opts.method ?? 'GET'} ${path} ${JSON.stringify(opts.headers ?? {})}`);
  }
  t.deepEqual(asked, [], 'nothing that is not a plain document GET reaches the cache');
  t.deepEqual(w.observed, []);

  const res = await rawRequest(w.url, `${INDEX}?x=1`, { headers: { 'user-agent': 'Terraform/1.9.0' } });
  t.is(res.status, 200);
  t.is(res.headers['content-type'], 'application/json; charset=utf-8');
  t.is(res.headers['content-length'], String(doc().body.length));
  t.is(res.headers['cache-control'], 'no-cache');
  t.is(res.headers.etag, '"abc"');
  t.is(res.headers.warning, undefined);
  t.deepEqual(asked, [{ kind: 'index', provider: { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' } }]);
  t.is(w.observed.length, 1);
  t.like(w.lines.at(-1), { msg: 'request', method: 'GET', path: INDEX, status: 200, bytes: 15, remote: '127.0.0.1', userAgent: 'Terraform/1.9.0' });
  t.regex(String((w.lines.at(-1) as { requestId?: string }).requestId), /^[0-9a-f-]{36}$/);
});

test('the warm path leaves a miss to the full app, and marks a deprecated provider\'s document', async (t) => {
  let answer: Document | undefined;
  const w = await warmOnly(t, () => answer);
  t.is((await rawRequest(w.url, VERSION)).status, 418);
  answer = doc('deprecated');
  const res = await rawRequest(w.url, VERSION);
  t.is(res.status, 200);
  t.regex(String(res.headers.warning), /^299 - /);
});
