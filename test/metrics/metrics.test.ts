import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Router from '@koa/router';
import test from 'ava';
import Koa from 'koa';
import pino from 'pino';
import { openDatabase } from '../../server/src/db/database.js';
import { JobStatsRepository } from '../../server/src/db/job-stats.js';
import { JobRepository } from '../../server/src/db/jobs.js';
import { NotFound } from '../../server/src/errors.js';
import { errorHandler } from '../../server/src/http/middleware/errors.js';
import { requestContext } from '../../server/src/http/middleware/request-context.js';
import { Metrics, metricsMiddleware, metricsRoute, type MetricsOptions } from '../../server/src/metrics/index.js';

const ARCHIVE = Buffer.alloc(64 * 1024, 7);

/** A small app assembled like http/app.ts: context, metrics, errors, then routers. */
async function serve(opts: MetricsOptions = {}) {
  const metrics = new Metrics({ defaultMetrics: false, ...opts });
  const app = new Koa();
  app.silent = true;
  app.use(requestContext(pino({ level: 'silent' })));
  app.use(metricsMiddleware(metrics));
  app.use(errorHandler());
  app.use(metricsRoute(metrics).routes());
  const router = new Router();
  router.get('/things/:id', (ctx) => {
    if (ctx.params.id === 'missing') throw new NotFound('no such thing');
    if (ctx.params.id === 'boom') throw new Error('bug');
    ctx.body = { id: ctx.params.id };
  });
  router.get('/files/:name', (ctx) => {
    ctx.type = 'application/zip';
    ctx.length = ARCHIVE.length;
    ctx.body = Readable.from([ARCHIVE.subarray(0, 1000), ARCHIVE.subarray(1000)]);
  });
  const admin = new Router({ prefix: '/admin/api' });
  admin.post('/providers/:id', (ctx) => void (ctx.status = 204));
  app.use(router.routes());
  app.use(admin.routes());
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    metrics,
    get: (p: string, init?: RequestInit) => fetch(base + p, init).then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), text: await r.text() })),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The value of one series in the exposition text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function seriesOf(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

test('requests are counted and timed by matched route pattern and status', async (t) => {
  const s = await serve();
  t.teardown(s.close);
  for (const id of ['1', '2', '3', 'missing', 'boom']) await s.get(`/things/${id}`);
  await s.get('/admin/api/providers/7', { method: 'POST' });
  const scrape = await s.get('/metrics');
  t.is(scrape.status, 200);
  t.regex(scrape.type ?? '', /^text\/plain; version=0\.0\.4/);
  const text = scrape.text;
  t.is(sample(text, 'http_requests_total{method="GET",route="/things/:id",status="200"}'), 3);
  t.is(sample(text, 'http_requests_total{method="GET",route="/things/:id",status="404"}'), 1);
  t.is(sample(text, 'http_requests_total{method="GET",route="/things/:id",status="500"}'), 1);
  t.is(sample(text, 'http_requests_total{method="POST",route="/admin/api/providers/:id",status="204"}'), 1);
  t.is(sample(text, 'http_request_duration_seconds_count{method="GET",route="/things/:id"}'), 5);
  t.is(sample(text, 'http_request_duration_seconds_bucket{le="10",method="GET",route="/things/:id"}'), 5);
  t.true(text.includes('http_request_duration_seconds_bucket{le="0.001",'));
});

test('a hundred unknown paths make one "unmatched" series, and methods stay a fixed set', async (t) => {
  const s = await serve();
  t.teardown(s.close);
  for (let i = 0; i < 100; i++) await s.get(`/probe-${i}/${'x'.repeat(i)}`);
  await s.get('/things/1', { method: 'PROPFIND' });
  const text = (await s.get('/metrics')).text;
  const series = seriesOf(text, 'http_requests_total');
  t.is(sample(text, 'http_requests_total{method="GET",route="unmatched",status="404"}'), 100);
  t.false(text.includes('probe-'));
  t.true(series.some((l) => l.includes('method="OTHER"')));
  t.is(series.length, 2, series.join('\n'));
});

test('archive bytes are counted once the whole response is sent', async (t) => {
  const s = await serve();
  t.teardown(s.close);
  const res = await s.get('/files/a.zip');
  t.is(res.status, 200);
  await s.get('/files/b.zip');
  const text = (await s.get('/metrics')).text;
  t.is(sample(text, 'bytes_served_total'), 2 * ARCHIVE.length);
  t.is(sample(text, 'http_requests_total{method="GET",route="/files/:name",status="200"}'), 2);
});

test('cache, upstream and queue series are read from their sources at scrape time', async (t) => {
  const db = openDatabase(':memory:');
  const jobs = new JobRepository(db);
  const cache = { hits: 5, misses: 2 };
  const s = await serve({
    cache: () => cache,
    jobs: () => new JobStatsRepository(db).counts(),
    upstream: () => ({ 'registry.terraform.io': { results: { ok: 9, rate_limited: 1 } } }),
  });
  t.teardown(s.close);
  jobs.createJob({ kind: 'load', requestedBy: 'admin', spec: {}, maxAttempts: 3, items: [1, 2, 3].map((i) => ({ source: 'registry.terraform.io/hashicorp/null', version: '3.2.0', platform: `linux_a${i}` })) }, 1);
  const [claimed] = jobs.claim('w', 30_000, 2, 1);
  jobs.complete(claimed!.id, 'w', 'succeeded', 3);

  let text = (await s.get('/metrics')).text;
  t.is(sample(text, 'mirror_cache_hits_total'), 5);
  t.is(sample(text, 'mirror_cache_misses_total'), 2);
  t.is(sample(text, 'upstream_requests_total{hostname="registry.terraform.io",result="ok"}'), 9);
  t.is(sample(text, 'upstream_requests_total{hostname="registry.terraform.io",result="rate_limited"}'), 1);
  t.is(sample(text, 'jobs{status="running"}'), 1);
  t.is(sample(text, 'jobs{status="failed"}'), 0);
  t.is(sample(text, 'job_items{status="succeeded"}'), 1);
  t.is(sample(text, 'job_items{status="pending"}'), 2);
  t.is(sample(text, 'job_items{status="skipped"}'), 0);

  cache.hits = 8;
  text = (await s.get('/metrics')).text;
  t.is(sample(text, 'mirror_cache_hits_total'), 8);
});

test('a failing source does not fail the scrape', async (t) => {
  const failed: string[] = [];
  const s = await serve({
    jobs: () => {
      throw new Error('database is closed');
    },
    cache: () => ({ hits: 1, misses: 0 }),
    onSourceError: (source) => void failed.push(source),
  });
  t.teardown(s.close);
  const res = await s.get('/metrics');
  t.is(res.status, 200);
  t.is(sample(res.text, 'mirror_cache_hits_total'), 1);
  t.deepEqual([...new Set(failed)], ['jobs']);
});

test('each Metrics owns its registry, with process metrics by default', async (t) => {
  const a = new Metrics();
  const b = new Metrics();
  a.observeRequest({ method: 'GET', route: '/x', status: 200, seconds: 0.002 });
  t.true((await a.scrape()).includes('process_cpu_user_seconds_total'));
  t.true((await a.scrape()).includes('route="/x"'));
  t.false((await b.scrape()).includes('route="/x"'));
});
