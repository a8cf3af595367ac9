import type { Readable } from 'node:stream';
import Router from '@koa/router';
import type Koa from 'koa';
import type { Metrics } from './metrics.js';

/** The label for requests no router claimed: one series however many distinct paths are probed. */
export const UNMATCHED_ROUTE = 'unmatched';

// Node's parser accepts a few dozen methods; anything outside the usual ones
// shares one label value.
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Counts and times every request. Mount it right after the request context
 * and before the error handler, so it sees the final status of failed
 * requests too. Labels use the matched route pattern (@koa/router's
 * ctx._matchedRoute, prefix included), never the raw path, so their number
 * stays bounded whatever clients ask for.
 */
export function metricsMiddleware(metrics: Metrics): Koa.Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    let thrown = false;
    try {
      await next();
    } catch (err) {
      thrown = true;
      const status = (err as { status?: unknown }).status;
      ctx.status = typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
      throw err;
    } finally {
      const done = () => observe(ctx, metrics, started);
      // A streamed body (archives) is sent after the middleware returns: time it
      // to the end of the response. Everything else is complete now.
      if (!thrown && isStream(ctx.body)) ctx.res.once('close', done);
      else done();
    }
  };
}

function observe(ctx: Koa.Context, metrics: Metrics, started: bigint): void {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  metrics.observeRequest({ method: methodLabel(ctx.method), route: routeLabel(ctx), status: ctx.status, seconds });
  // Only a response the socket took in full counts: an aborted download sent an unknown part.
  if (ctx.response.type === 'application/zip' && ctx.method === 'GET' && ctx.res.writableFinished) {
    const length = ctx.response.length;
    if (typeof length === 'number' && (ctx.status === 200 || ctx.status === 206)) metrics.bytesServed.inc(length);
  }
}

export function routeLabel(ctx: Koa.Context): string {
  const matched = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
  return matched === undefined ? UNMATCHED_ROUTE : String(matched);
}

function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'OTHER';
}

function isStream(body: unknown): body is Readable {
  return typeof (body as { pipe?: unknown } | null)?.pipe === 'function';
}

/** GET /metrics in the Prometheus text format. Unauthenticated, like /healthz: it holds counts, no names. */
export function metricsRoute(metrics: Metrics): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const text = await metrics.scrape();
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.contentType;
    ctx.body = text;
  });
  return router;
}
