import type Koa from 'koa';
import {
  Conflict,
  Forbidden,
  IntegrityError,
  InvalidInput,
  LimitExceeded,
  NotFound,
  TooManyRequests,
  Unauthorized,
  Unavailable,
  UpstreamError,
} from '../../errors.js';
import { isBusy } from '../../db/database.js';
import { UpstreamTimeout } from '../../upstream/errors.js';

/** Retry-After for an Unavailable that names no delay: long enough for a restart, short enough for a blip. */
export const DEFAULT_UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

export interface ErrorResponse {
  status: number;
  body: { error: Record<string, unknown> };
  headers: Record<string, string>;
}

/**
 * The one place where typed errors become HTTP responses. Unknown errors are
 * 500s carrying the request id, never a stack trace.
 */
export function errorHandler(): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: { message: 'not found' } };
      }
    } catch (err) {
      const { status, body, headers } = toResponse(err, ctx.state.requestId);
      if (status >= 500) ctx.state.log.error({ err }, 'request failed');
      ctx.status = status;
      ctx.body = body;
      ctx.remove('Content-Disposition');
      ctx.remove('Content-Range');
      for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
    }
  };
}

/**
 * Who is at fault decides the class of status: the client (4xx), us or a
 * dependency of ours (500, 503), or the upstream registry we went to on the
 * client's behalf (502, 504 on a timeout) — an oversized or truncated upstream
 * answer is never a 413 or 422, which would blame the client's request.
 */
export function toResponse(err: unknown, requestId: string): ErrorResponse {
  const answer = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}): ErrorResponse => ({ status, body: { error }, headers });
  if (err instanceof InvalidInput) {
    const { line, column, key } = err.details;
    return answer(400, { message: err.message, line, column, key });
  }
  if (err instanceof Unauthorized) return answer(401, { message: err.message }, { 'WWW-Authenticate': 'Bearer' });
  if (err instanceof Forbidden) return answer(403, { message: err.message });
  if (err instanceof TooManyRequests) {
    return answer(429, { message: err.message, retryAfter: err.retryAfterSeconds }, { 'Retry-After': retryAfter(err.retryAfterSeconds) });
  }
  if (err instanceof NotFound) return answer(404, { message: err.message });
  if (err instanceof Conflict) return answer(409, { message: err.message });
  if (err instanceof LimitExceeded) return answer(413, { message: err.message });
  if (err instanceof IntegrityError) return answer(422, { message: err.message });
  if (err instanceof UpstreamError) {
    return answer(err instanceof UpstreamTimeout ? 504 : 502, { message: err.message, upstream: err.upstream || undefined, requestId });
  }
  if (err instanceof Unavailable) {
    const seconds = err.retryAfterSeconds ?? DEFAULT_UNAVAILABLE_RETRY_AFTER_SECONDS;
    return answer(503, { message: err.message, requestId, retryAfter: Math.max(1, Math.ceil(seconds)) }, { 'Retry-After': retryAfter(seconds) });
  }
  // Another process holds SQLite's write lock (a load, an import, a backup):
  // serve waits only milliseconds for it, so the caller is told to come back.
  if (isBusy(err)) {
    return answer(503, { message: 'the database is busy with another writer; retry shortly', requestId, retryAfter: 1 }, { 'Retry-After': '1' });
  }
  // Errors Koa raised itself (ctx.throw, body parsing) carry an expose flag.
  const httpErr = err as { status?: number; expose?: boolean; message?: string };
  if (typeof httpErr.status === 'number' && httpErr.status >= 400 && httpErr.status < 500 && httpErr.expose) {
    return answer(httpErr.status, { message: httpErr.message ?? 'bad request' });
  }
  return answer(500, { message: 'internal error', requestId });
}

function retryAfter(seconds: number): string {
  return String(Math.max(1, Math.ceil(seconds)));
}
