import type Koa from 'koa';
import { Conflict, Forbidden, IntegrityError, InvalidInput, LimitExceeded, NotFound, TooManyRequests, Unauthorized, Unavailable } from '../../errors.js';

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
      const { status, body } = toResponse(err, ctx.state.requestId);
      if (err instanceof TooManyRequests) ctx.set('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
      if (err instanceof Unauthorized) ctx.set('WWW-Authenticate', 'Bearer');
      if (status >= 500) ctx.state.log.error({ err }, 'request failed');
      ctx.status = status;
      ctx.body = body;
      ctx.remove('Content-Disposition');
      ctx.remove('Content-Range');
    }
  };
}

export function toResponse(err: unknown, requestId: string): { status: number; body: { error: Record<string, unknown> } } {
  if (err instanceof InvalidInput) {
    const { line, column, key } = err.details;
    return { status: 400, body: { error: { message: err.message, line, column, key } } };
  }
  if (err instanceof Unauthorized) return { status: 401, body: { error: { message: err.message } } };
  if (err instanceof Forbidden) return { status: 403, body: { error: { message: err.message } } };
  if (err instanceof TooManyRequests) return { status: 429, body: { error: { message: err.message, retryAfter: err.retryAfterSeconds } } };
  if (err instanceof NotFound) return { status: 404, body: { error: { message: err.message } } };
  if (err instanceof Conflict) return { status: 409, body: { error: { message: err.message } } };
  if (err instanceof LimitExceeded) return { status: 413, body: { error: { message: err.message } } };
  if (err instanceof IntegrityError) return { status: 422, body: { error: { message: err.message } } };
  if (err instanceof Unavailable) return { status: 503, body: { error: { message: err.message, requestId } } };
  // Errors Koa raised itself (ctx.throw, body parsing) carry an expose flag.
  const httpErr = err as { status?: number; expose?: boolean; message?: string };
  if (typeof httpErr.status === 'number' && httpErr.status >= 400 && httpErr.status < 500 && httpErr.expose) {
    return { status: httpErr.status, body: { error: { message: httpErr.message ?? 'bad request' } } };
  }
  return { status: 500, body: { error: { message: 'internal error', requestId } } };
}
