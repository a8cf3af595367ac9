import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import { accessLogger, type Logger } from '../../log.js';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    log: Logger;
    /** Bytes of the body a read-serving worker sends from the file this answer names (serving/pass-on.ts). */
    sentByWorker?: number;
  }
}

// An incoming id is honoured only when it is short and plain, so a client
// cannot inject log lines or huge headers through it.
const acceptableId = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's id: the client's X-Request-Id when acceptable, else a new one. */
export function requestIdFor(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && acceptableId.test(incoming) ? incoming : randomUUID();
}

/**
 * Gives every request an id (X-Request-Id in and out) and a child logger
 * carrying it, then writes one access-log line when the response is done.
 */
export function requestContext(logger: Logger): Koa.Middleware {
  const access = accessLogger(logger);
  return async (ctx, next) => {
    const requestId = requestIdFor(ctx.req.headers['x-request-id']);
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const line = {
        requestId,
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        bytes: ctx.state.sentByWorker ?? ctx.response.length ?? undefined,
        ...(ctx.state.sentByWorker !== undefined ? { sentBy: 'worker' } : {}),
        ms: Math.round(ms * 100) / 100,
        remote: ctx.ip,
        userAgent: ctx.get('user-agent') || undefined,
      };
      if (ctx.status >= 500) access.error(line, 'request');
      else access.info(line, 'request');
    }
  };
}
