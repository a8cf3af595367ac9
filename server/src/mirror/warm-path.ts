import type http from 'node:http';
import { remoteAddress, type TrustedProxies } from '../http/forwarded.js';
import { requestIdFor } from '../http/middleware/request-context.js';
import type { Logger } from '../log.js';
import { parseMirrorPath } from './request-path.js';
import { PROVIDER_DEPRECATED } from './routes.js';
import type { MirrorService } from './service.js';

/** Answers the request and returns true, or returns false and leaves it untouched for the full app. */
export type WarmPath = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export interface WarmPathDeps {
  /** The mirror's rendered documents, or a read-serving worker's copy of them (serving/forwarded-documents.ts). */
  mirror: Pick<MirrorService, 'peekDocument'>;
  /** Writes the access lines (log.ts accessLogger). */
  logger: Logger;
  trustedProxies: TrustedProxies;
  /** Records one answered request (the metrics of the route Koa would have matched). */
  observe?: (seconds: number) => void;
}

/** The route label Koa's mirror router gives these documents, so both paths count into one series. */
export const WARM_ROUTE = '/:hostname/:namespace/:type/:file';

/**
 * Warm index.json and {version}.json, answered before Koa. Every `terraform
 * init` asks for these, and on a warm read the document is already rendered;
 * Koa's context, router, and middleware chain cost about three quarters of
 * such a request. Only what the full path would answer the same way is taken here: an
 * unconditional GET of a document the mirror already rendered and cached
 * (so it has passed every check of the full path once, and is dropped from
 * the cache by the same invalidations). Anything else (HEAD, If-None-Match,
 * percent-escapes, a miss, a cached "not found") goes to the full app,
 * unchanged. The response carries what the full path's does: X-Request-Id,
 * ETag, Cache-Control, Warning for deprecated providers, the access log line
 * and the request metrics.
 */
export function warmDocuments(deps: WarmPathDeps): WarmPath {
  const log = deps.logger;
  return (req, res) => {
    if (req.method !== 'GET' || req.url === undefined) return false;
    const query = req.url.indexOf('?');
    const url = query === -1 ? req.url : req.url.slice(0, query);
    if (!url.endsWith('.json') || url.includes('%')) return false;
    const h = req.headers;
    if (h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) return false;
    let path;
    try {
      path = parseMirrorPath(url);
    } catch {
      return false;
    }
    if (path.kind === 'archive') return false;
    const doc = deps.mirror.peekDocument(path);
    if (doc === undefined) return false;

    const started = process.hrtime.bigint();
    const requestId = requestIdFor(h['x-request-id']);
    const headers = [
      'X-Request-Id', requestId,
      'ETag', doc.etag,
      'Cache-Control', 'no-cache',
      'Content-Type', 'application/json; charset=utf-8',
      'Content-Length', String(doc.body.length),
    ];
    if (doc.status === 'deprecated') headers.push('Warning', PROVIDER_DEPRECATED);
    res.writeHead(200, headers);
    res.end(doc.body);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    deps.observe?.(seconds);
    if (log.isLevelEnabled('info')) {
      const line = { requestId, method: 'GET', path: url, status: 200, bytes: doc.body.length, ms: Math.round(seconds * 1e5) / 100, remote: remoteAddress(deps.trustedProxies, req), userAgent: h['user-agent'] || undefined };
      log.info(line, 'request');
    }
    return true;
  };
}
