/**
 * A read-serving worker's pass-on (server/src/serving/pass-on.ts) between real
 * servers: a Koa "writer" on a Unix socket in a fresh temp dir (the internal
 * listener, acceptHop on), and a plain http "worker" on loopback that answers
 * from its ForwardedDocuments through the warm path and passes everything else
 * on, as serving/reader.ts composes them. Requests are counted at the writer,
 * so a document the worker answered itself is one the writer never saw.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import Koa from 'koa';
import pino from 'pino';
import { forwardedHeaders, TrustedProxies } from '../../server/src/http/forwarded.js';
import { listen, type RunningServer } from '../../server/src/http/listen.js';
import { PROVIDER_DEPRECATED } from '../../server/src/mirror/routes.js';
import type { Document } from '../../server/src/mirror/service.js';
import { warmDocuments } from '../../server/src/mirror/warm-path.js';
import { ForwardedDocuments, type DocumentPath } from '../../server/src/serving/forwarded-documents.js';
import { passOn } from '../../server/src/serving/pass-on.js';

const INDEX = '/registry.terraform.io/hashicorp/null/index.json';
const VERSION = '/registry.terraform.io/hashicorp/null/3.2.2.json';
const DOC = Buffer.from('{"versions":{"3.2.2":{}}}');
/** What one request may take at most, so a hang fails the test instead of the run. */
const REQUEST_TIMEOUT_MS = 10_000;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

interface Pair {
  /** The worker's port on 127.0.0.1. */
  port: number;
  documents: ForwardedDocuments;
  /** Every request that reached the writer's app, with the headers it saw there. */
  seen: Seen[];
  writer: RunningServer;
}

async function start(t: ExecutionContext, handle: Koa.Middleware, opts: { trusted?: string[] } = {}): Promise<Pair> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-pass-on-'));
  const socketPath = path.join(dir, 'writer.sock');
  const app = new Koa({ proxy: true });
  app.silent = true;
  const seen: Seen[] = [];
  app.use(forwardedHeaders(new TrustedProxies(opts.trusted ?? [])));
  app.use(async (ctx, next) => {
    seen.push({ method: ctx.method, url: ctx.url, headers: { ...ctx.req.headers } });
    await next();
  });
  app.use(handle);
  const writer = await listen(app, { listen: '', socketPath, acceptHop: true });

  const documents = new ForwardedDocuments({ maxEntries: 16, ttlMs: 60_000 });
  const agent = new http.Agent({ keepAlive: true });
  const warm = warmDocuments({ mirror: documents, logger: pino({ level: 'silent' }), trustedProxies: new TrustedProxies(opts.trusted ?? []) });
  const worker = http.createServer((req, res) => {
    if (!warm(req, res)) passOn(req, res, { socketPath, agent, proto: 'https', documents });
  });
  await new Promise<void>((resolve) => worker.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    worker.closeAllConnections();
    await new Promise<void>((resolve) => worker.close(() => resolve()));
    agent.destroy();
    await writer.close(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { port: (worker.address() as AddressInfo).port, documents, seen, writer };
}

interface Answer {
  status: number;
  message: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface RequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: Buffer | Readable;
  /** Called with the response as soon as its headers arrive. */
  onResponse?: (res: http.IncomingMessage, req: http.ClientRequest) => void;
}

/** One request to the worker on a connection of its own; rejects when the answer is cut short. */
function request(p: Pair, pathname: string, opts: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: p.port, path: pathname, method: opts.method ?? 'GET', headers: opts.headers, agent: false, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
      (res) => {
        opts.onResponse?.(res, req);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, message: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error(`response cut after ${Buffer.concat(chunks).length} bytes`));
        });
      },
    );
    req.on('error', reject);
    if (opts.body instanceof Readable) opts.body.pipe(req);
    else req.end(opts.body);
  });
}

/** Exactly the headers the warm path sends for a document (Koa adds Content-Length for the Buffer). */
function sendDocument(ctx: Koa.Context, opts: { body?: Buffer; warning?: string; status?: number } = {}): void {
  const body = opts.body ?? DOC;
  ctx.set('X-Request-Id', randomUUID());
  ctx.set('ETag', `"${sha256(body).slice(0, 16)}"`);
  ctx.set('Cache-Control', 'no-cache');
  ctx.set('Content-Type', 'application/json; charset=utf-8');
  if (opts.warning !== undefined) ctx.set('Warning', opts.warning);
  ctx.status = opts.status ?? 200;
  ctx.body = body;
}

/** A promise with its resolve, for handlers that wait on the test. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Chunks of deterministic bytes, handed out one per read so the body really streams. */
function chunked(total: number, chunk = 64 * 1024): { stream: Readable; sha: string } {
  const block = randomBytes(chunk);
  const hash = createHash('sha256');
  const parts: Buffer[] = [];
  for (let sent = 0; sent < total; sent += chunk) {
    const part = Buffer.from(block.subarray(0, Math.min(chunk, total - sent)));
    part.writeUInt32BE(sent, 0);
    parts.push(part);
    hash.update(part);
  }
  return { stream: Readable.from(parts, { objectMode: false }), sha: hash.digest('hex') };
}

const echo: Koa.Middleware = (ctx) => {
  ctx.body = { ip: ctx.ip, protocol: ctx.protocol, host: ctx.host, headers: ctx.req.headers };
};
type Echoed = { ip: string; protocol: string; host: string; headers: Record<string, string> };
const echoed = (a: Answer) => JSON.parse(a.body.toString()) as Echoed;

// 1. The client's peer and scheme, as the writer's app sees them.

test('the writer sees the worker client\'s address, the worker\'s scheme and the client\'s Host, and not the hop headers', async (t) => {
  const p = await start(t, echo);
  const e = echoed(await request(p, '/echo', { headers: { host: 'mirror.example.test:8443' } }));
  t.is(e.ip, '127.0.0.1');
  t.is(e.protocol, 'https');
  t.is(e.host, 'mirror.example.test:8443');
  t.false('x-tfmirror-hop-peer' in e.headers);
  t.false('x-tfmirror-hop-proto' in e.headers);
});

test('hop and X-Forwarded-* headers a client sends do not change what the writer believes when no proxy is trusted', async (t) => {
  const p = await start(t, echo);
  const e = echoed(
    await request(p, '/echo', {
      headers: {
        host: 'mirror.example.test',
        'x-tfmirror-hop-peer': '198.51.100.8',
        'x-tfmirror-hop-proto': 'http',
        'x-forwarded-for': '198.51.100.7',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': 'evil.example',
      },
    }),
  );
  t.is(e.ip, '127.0.0.1');
  t.is(e.protocol, 'https');
  t.is(e.host, 'mirror.example.test');
  t.false('x-tfmirror-hop-peer' in e.headers);
});

test('behind a trusted proxy the writer\'s ctx.ip is the address the proxy forwarded for', async (t) => {
  const p = await start(t, echo, { trusted: ['127.0.0.1/32'] });
  const e = echoed(await request(p, '/echo', { headers: { 'x-forwarded-for': '203.0.113.9' } }));
  t.is(e.ip, '203.0.113.9');
  t.is(e.protocol, 'https', 'no X-Forwarded-Proto from the proxy: the worker\'s scheme');
});

// 2. Headers and bodies across the hop.

test('hop-by-hop request headers stay on the client\'s connection; other headers and a streamed 3 MB body arrive intact', async (t) => {
  const p = await start(t, async (ctx) => {
    const hash = createHash('sha256');
    let length = 0;
    for await (const c of ctx.req as AsyncIterable<Buffer>) {
      hash.update(c);
      length += c.length;
    }
    ctx.body = { sha: hash.digest('hex'), length };
  });
  const body = chunked(3 * 1024 * 1024);
  const answer = await request(p, '/upload', {
    method: 'POST',
    body: body.stream,
    headers: {
      'x-custom': 'kept',
      'user-agent': 'Terraform/1.9.0',
      'content-type': 'application/octet-stream',
      // Valid framing for the worker, and distinguishable from the chunked framing the worker's own request uses.
      'transfer-encoding': 'gzip, chunked',
      connection: 'keep-alive, x-hop-only',
      'x-hop-only': 'named by Connection: this connection\'s own',
      'keep-alive': 'timeout=99',
      te: 'trailers',
      trailer: 'x-checksum',
      upgrade: 'h2c',
    },
  });
  t.deepEqual(JSON.parse(answer.body.toString()), { sha: body.sha, length: 3 * 1024 * 1024 });
  const h = p.seen[0]!.headers;
  t.is(h['x-custom'], 'kept');
  t.is(h['user-agent'], 'Terraform/1.9.0');
  t.is(h['content-type'], 'application/octet-stream');
  t.is(h['transfer-encoding'], 'chunked', 'the worker\'s own framing');
  t.is(h.connection, 'keep-alive', 'the worker\'s agent\'s');
  t.is(h['keep-alive'], undefined);
  t.is(h['x-hop-only'], undefined, 'a header the Connection header names stays on the client\'s connection');
  t.is(h.te, undefined);
  t.is(h.trailer, undefined);
  t.is(h.upgrade, undefined);
});

test('a streamed 8 MB answer arrives intact with the writer\'s status, status message and headers, repeated ones too, and without its hop-by-hop headers', async (t) => {
  const body = chunked(8 * 1024 * 1024);
  const p = await start(t, (ctx) => {
    ctx.status = 201;
    ctx.message = 'Made Here';
    ctx.set('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/']);
    ctx.set('X-Custom', 'from the writer');
    ctx.set('Transfer-Encoding', 'gzip, chunked');
    ctx.set('Connection', 'keep-alive, x-hop-only');
    ctx.set('X-Hop-Only', 'named by Connection');
    ctx.set('Keep-Alive', 'timeout=99');
    ctx.set('Trailer', 'x-checksum');
    ctx.set('Upgrade', 'h2c');
    ctx.body = body.stream;
  });
  const answer = await request(p, '/download');
  t.is(answer.status, 201);
  t.is(answer.message, 'Made Here');
  t.deepEqual(answer.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
  t.is(answer.headers['x-custom'], 'from the writer');
  t.is(answer.body.length, 8 * 1024 * 1024);
  t.is(sha256(answer.body), body.sha);
  t.is(answer.headers['transfer-encoding'], 'chunked', 'the worker\'s own framing');
  t.is(answer.headers.connection, 'close', 'the worker\'s, for a client that asked to close');
  t.is(answer.headers['keep-alive'], undefined);
  t.is(answer.headers['x-hop-only'], undefined);
  t.is(answer.headers.trailer, undefined);
  t.is(answer.headers.upgrade, undefined);
});

// 3. Keeping the writer's documents.

test('a 200 document with exactly the warm path\'s headers is kept: the next GET is answered by the worker with the same body, ETag and Warning', async (t) => {
  const p = await start(t, (ctx) => sendDocument(ctx, ctx.path === INDEX ? { warning: PROVIDER_DEPRECATED } : {}));
  for (const [pathname, warning] of [[INDEX, PROVIDER_DEPRECATED], [VERSION, undefined]] as const) {
    const first = await request(p, pathname);
    t.deepEqual(Object.keys(first.headers).sort(), ['cache-control', 'connection', 'content-length', 'content-type', 'date', 'etag', 'x-request-id', ...(warning ? ['warning'] : [])].sort(), 'the premise: only what the warm path sends');
    const before = p.seen.length;
    const second = await request(p, pathname);
    t.is(p.seen.length, before, `${pathname}: the writer was not asked again`);
    t.is(second.status, 200);
    t.deepEqual(second.body, first.body);
    t.is(second.headers.etag, first.headers.etag);
    t.is(second.headers.warning, warning);
    t.is(second.headers['content-type'], 'application/json; charset=utf-8');
    t.is(second.headers['cache-control'], 'no-cache');
    t.not(second.headers['x-request-id'], first.headers['x-request-id'], 'a request id of its own');
  }
  t.is(p.documents.hits, 2);
});

test('a document of exactly 1 MiB is still kept', async (t) => {
  const big = Buffer.alloc(1 << 20, 'a');
  const p = await start(t, (ctx) => sendDocument(ctx, { body: big }));
  await request(p, INDEX);
  const second = await request(p, INDEX);
  t.is(p.seen.length, 1);
  t.is(sha256(second.body), sha256(big));
});

/** An answer (or a request) that must not be kept: after it, a plain GET of INDEX reaches the writer again. */
const notKept: { name: string; first?: { method?: string; path?: string; headers?: Record<string, string> }; answer: Koa.Middleware }[] = [
  { name: 'an answer with a header the warm path would not send', answer: (ctx) => (sendDocument(ctx), ctx.set('X-Extra', '1')) },
  { name: 'an answer whose Warning is not the deprecation warning', answer: (ctx) => sendDocument(ctx, { warning: '199 - "something else"' }) },
  { name: 'a non-200 answer', answer: (ctx) => sendDocument(ctx, { status: 203 }) },
  { name: 'an answer to HEAD', first: { method: 'HEAD' }, answer: (ctx) => sendDocument(ctx) },
  // Its (empty) body is as long as its Content-Length promises: only the method says it is no document.
  { name: 'an answer to HEAD with Content-Length: 0', first: { method: 'HEAD' }, answer: (ctx) => sendDocument(ctx, { body: Buffer.alloc(0) }) },
  { name: 'an answer to a conditional GET', first: { headers: { 'if-none-match': '"other"' } }, answer: (ctx) => sendDocument(ctx) },
  { name: 'an answer to a percent-escaped path', first: { path: '/registry.terraform.io/hashicorp/nu%6cl/index.json' }, answer: (ctx) => sendDocument(ctx) },
  { name: 'a document over 1 MiB', answer: (ctx) => sendDocument(ctx, { body: Buffer.alloc((1 << 20) + 1, 'a') }) },
];
for (const c of notKept) {
  test(`${c.name} is not kept: the next GET reaches the writer`, async (t) => {
    const p = await start(t, c.answer);
    await request(p, c.first?.path ?? INDEX, { method: c.first?.method ?? 'GET', headers: c.first?.headers });
    t.is(p.seen.length, 1);
    t.is(p.documents.size, 0);
    await request(p, INDEX);
    t.is(p.seen.length, 2);
  });
}

test('an answer that crossed an invalidation is not kept: the next GET reaches the writer', async (t) => {
  const received = gate();
  const release = gate();
  const p = await start(t, async (ctx) => {
    if (p.seen.length === 1) {
      received.open();
      await release.promise;
    }
    sendDocument(ctx);
  });
  const first = request(p, INDEX);
  await within(5_000, 'the writer to get the request', received.promise);
  p.documents.invalidate();
  release.open();
  t.is((await first).status, 200);
  t.is(p.documents.size, 0);
  await request(p, INDEX);
  t.is(p.seen.length, 2);
  await request(p, INDEX);
  t.is(p.seen.length, 2, 'an answer that did not cross one is kept');
});

test('after invalidate() a kept document is no longer served: the writer is asked again', async (t) => {
  const p = await start(t, (ctx) => sendDocument(ctx));
  await request(p, INDEX);
  await request(p, INDEX);
  t.is(p.seen.length, 1);
  p.documents.invalidate();
  await request(p, INDEX);
  t.is(p.seen.length, 2);
});

// 4. Failures on either side.

test('with the writer not listening the client gets 503 with Retry-After: 1 and a JSON error', async (t) => {
  const p = await start(t, echo);
  await p.writer.close(1_000);
  const answer = await request(p, '/anything');
  t.is(answer.status, 503);
  t.is(answer.headers['retry-after'], '1');
  t.is(answer.headers['content-type'], 'application/json; charset=utf-8');
  t.regex((JSON.parse(answer.body.toString()) as { error: { message: string } }).error.message, /not reachable/);
});

for (const framing of ['chunked', 'Content-Length'] as const) {
  test(`a writer cutting its answer mid-body (${framing}) cuts the client's answer, never a complete-looking body`, async (t) => {
    const p = await start(t, (ctx) => {
      ctx.respond = false;
      ctx.res.writeHead(200, framing === 'chunked' ? {} : { 'Content-Length': String(1 << 20) });
      ctx.res.write(Buffer.alloc(64 * 1024, 'x'));
      setTimeout(() => ctx.res.destroy(), 50);
    });
    const err = await t.throwsAsync(request(p, '/cut'));
    t.notRegex(String(err?.name), /Abort|Timeout/, 'cut by the worker, not by the test\'s deadline');
  });
}

test('a client going away mid-answer closes the writer\'s response before it finished', async (t) => {
  const closed = gate();
  let finished: boolean | undefined;
  const p = await start(t, (ctx) => {
    ctx.res.once('close', () => {
      finished = ctx.res.writableFinished;
      closed.open();
    });
    const block = Buffer.alloc(64 * 1024, 'y');
    let n = 0;
    // At most ~16 MB over ~5 s: the test's bound, should the close never come.
    ctx.body = new Readable({
      read() {
        if (n++ < 256) setTimeout(() => this.push(block), 20);
        else this.push(null);
      },
    });
  });
  const answer = request(p, '/slow', { onResponse: (res, req) => res.once('data', () => req.destroy()) });
  await t.throwsAsync(answer);
  await within(5_000, 'the writer\'s response to close', closed.promise);
  t.false(finished);
});

test('a client going away before the writer answers closes the writer\'s request, and the worker keeps serving', async (t) => {
  const received = gate();
  const closed = gate();
  const release = gate();
  const p = await start(t, async (ctx) => {
    if (ctx.path !== '/held') return sendDocument(ctx);
    ctx.res.once('close', () => closed.open());
    received.open();
    await release.promise;
    ctx.body = 'late';
  });
  const client = http.request({ host: '127.0.0.1', port: p.port, path: '/held', agent: false });
  client.on('error', () => {});
  client.end();
  await within(5_000, 'the writer to get the request', received.promise);
  client.destroy();
  await within(5_000, 'the writer\'s side to close', closed.promise);
  release.open();
  t.is((await request(p, INDEX)).status, 200);
});

// 5. ForwardedDocuments on its own.

const provider = (type: string): DocumentPath => ({ kind: 'index', provider: { hostname: 'registry.terraform.io', namespace: 'hashicorp', type } });
const doc = (text: string): Document => ({ body: Buffer.from(text), etag: `"${text}"`, status: 'active' });

test('a kept document expires after ttlMs', async (t) => {
  const d = new ForwardedDocuments({ maxEntries: 4, ttlMs: 50 });
  d.remember(provider('null'), doc('a'), d.generation);
  t.is(d.peekDocument(provider('null'))?.etag, '"a"');
  await new Promise((resolve) => setTimeout(resolve, 120));
  t.is(d.peekDocument(provider('null')), undefined);
});

test('at most maxEntries documents are kept, the least recently used dropped first', async (t) => {
  const d = new ForwardedDocuments({ maxEntries: 2, ttlMs: 60_000 });
  d.remember(provider('a'), doc('a'), d.generation);
  d.remember(provider('b'), doc('b'), d.generation);
  t.truthy(d.peekDocument(provider('a')), 'a is now the most recently used');
  d.remember(provider('c'), doc('c'), d.generation);
  t.is(d.size, 2);
  t.is(d.peekDocument(provider('b')), undefined);
  t.is(d.peekDocument(provider('a'))?.etag, '"a"');
  t.is(d.peekDocument(provider('c'))?.etag, '"c"');
});

test('remember() with a generation from before an invalidation is ignored', (t) => {
  const d = new ForwardedDocuments({ maxEntries: 4, ttlMs: 60_000 });
  const old = d.generation;
  d.invalidate();
  d.remember(provider('null'), doc('a'), old);
  t.is(d.size, 0);
  t.is(d.peekDocument(provider('null')), undefined);
  d.remember(provider('null'), doc('a'), d.generation);
  t.is(d.peekDocument(provider('null'))?.etag, '"a"');
});

// 6. Archives the writer names by their file.

test('an archive the writer names by its file is streamed by the worker: that part of the file, the writer\'s status and headers, no hop header', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-pass-file-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'archive.zip');
  const bytes = chunkedBytes(3 * 1024 * 1024 + 17);
  fs.writeFileSync(file, bytes);
  const p = await start(t, (ctx) => {
    t.is(ctx.get('x-tfmirror-hop-offload'), '', 'the offer is taken off before the app sees the request');
    nameFile(ctx, 206, file, 100, 2_099_900);
    ctx.set('Content-Range', `bytes 100-2099999/${bytes.length}`);
    ctx.set('ETag', '"e"');
  });
  const answer = await request(p, ARCHIVE);
  t.is(answer.status, 206);
  t.is(answer.headers['content-length'], '2099900');
  t.is(answer.headers['content-range'], `bytes 100-2099999/${bytes.length}`);
  t.is(answer.headers.etag, '"e"');
  t.true(answer.body.equals(bytes.subarray(100, 2_100_000)));
  for (const name of Object.keys(answer.headers)) t.false(name.startsWith('x-tfmirror-'), name);
});

test('an archive whose file is gone when the worker opens it is a 503 to retry, never a short body', async (t) => {
  const p = await start(t, (ctx) => nameFile(ctx, 200, path.join(os.tmpdir(), 'tfm-no-such-dir', 'gone.zip'), 0, 1000));
  const answer = await request(p, ARCHIVE);
  t.is(answer.status, 503);
  t.is(answer.headers['retry-after'], '1');
  t.regex(JSON.parse(answer.body.toString()).error.message, /retry/);
});

const ARCHIVE = '/registry.terraform.io/hashicorp/null/3.2.2/terraform-provider-null_3.2.2_linux_amd64.zip';

/** The writer's answer naming the file (and the part of it) the worker sends, as mirror/routes.ts gives it. */
function nameFile(ctx: Koa.Context, status: number, file: string, start: number, length: number): void {
  ctx.status = status;
  ctx.type = 'application/zip';
  ctx.set('x-tfmirror-hop-file', file);
  ctx.set('x-tfmirror-hop-file-start', String(start));
  ctx.set('x-tfmirror-hop-file-length', String(length));
  ctx.body = Buffer.alloc(0);
}

function chunkedBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}
