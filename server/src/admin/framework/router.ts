import Router from '@koa/router';
import type Koa from 'koa';
import getRawBody from 'raw-body';
import { z } from 'zod';
import { Forbidden, InvalidInput, LimitExceeded, Unauthorized } from '../../errors.js';
import type { Principal } from '../principal.js';
import type { HandlerResult, RequestInfo, RouteSpec } from './route.js';

export const ADMIN_PREFIX = '/admin/api';
const DEFAULT_JSON_LIMIT = 1 << 20;

export interface AuditEntry {
  actor: string;
  action: string;
  resource?: string;
  outcome: 'success' | 'failure';
  ip: string;
  userAgent: string;
  requestId: string;
  details?: Record<string, unknown>;
}

export interface AdminRouterDeps {
  /** Resolves a bearer token to its principal, or undefined when it is not valid (any reason). */
  authenticate(bearer: string, req: { ip: string; userAgent: string }): Promise<Principal | undefined>;
  audit?(entry: AuditEntry): void;
}

/** Builds the Koa router for the declared routes: authenticate → authorize → validate → handler → respond → audit. */
export function buildAdminRouter(routes: readonly RouteSpec[], deps: AdminRouterDeps): Router {
  const router = new Router({ prefix: ADMIN_PREFIX });
  for (const spec of routes) {
    router[spec.method](spec.path, async (ctx) => {
      const controller = new AbortController();
      // The request's own 'close' fires once its body is read; the response's
      // 'close' before it finished is what a client going away looks like.
      ctx.res.once('close', () => {
        if (!ctx.res.writableFinished) controller.abort();
      });
      const req: RequestInfo = {
        requestId: ctx.state.requestId,
        ip: ctx.ip,
        userAgent: ctx.get('user-agent'),
        signal: controller.signal,
      };
      let result: HandlerResult | undefined;
      try {
        await authorize(spec, ctx, req, deps);
        const input = await validate(spec, ctx, req);
        result = await spec.handler(input);
        respond(ctx, result);
      } catch (err) {
        if (spec.audit) deps.audit?.(auditEntry(spec.audit, req, 'failure', result, err));
        throw err;
      }
      if (spec.audit) deps.audit?.(auditEntry(spec.audit, req, 'success', result));
    });
  }
  return router;
}

async function authorize(spec: RouteSpec, ctx: Koa.Context, req: RequestInfo, deps: AdminRouterDeps): Promise<void> {
  const header = ctx.get('authorization');
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (bearer) req.bearer = bearer;
  if (spec.access === 'public') return;
  const principal = bearer ? await deps.authenticate(bearer, { ip: req.ip, userAgent: req.userAgent }) : undefined;
  if (!principal) throw new Unauthorized(bearer ? 'the token is invalid, expired or revoked' : 'authentication required: send Authorization: Bearer <token>');
  req.principal = principal;
  if (!spec.access.includes(principal.role)) throw new Forbidden(`role ${principal.role} may not ${spec.method.toUpperCase()} ${ADMIN_PREFIX}${spec.path}`);
}

async function validate(spec: RouteSpec, ctx: Koa.Context, req: RequestInfo) {
  const params = parse(spec.params, ctx.params, 'path');
  const query = parse(spec.query, { ...ctx.query }, 'query');
  let body: unknown;
  let raw: { text: string; contentType: string } | undefined;
  const contentType = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
  if (spec.rawBody && contentType !== 'application/json') {
    if (!spec.rawBody.contentTypes.includes(contentType)) {
      throw new InvalidInput(`unsupported Content-Type "${contentType}": send one of application/json, ${spec.rawBody.contentTypes.join(', ')}`);
    }
    raw = { text: await readBody(ctx, spec.rawBody.maxBytes ?? DEFAULT_JSON_LIMIT), contentType };
  } else if (spec.body || spec.rawBody) {
    const text = await readBody(ctx, spec.rawBody?.maxBytes ?? DEFAULT_JSON_LIMIT);
    if (spec.rawBody) {
      raw = { text, contentType: 'application/json' };
    } else {
      if (contentType !== 'application/json') throw new InvalidInput('send the body as application/json');
      let json: unknown;
      try {
        json = text === '' ? {} : JSON.parse(text);
      } catch (err) {
        throw new InvalidInput(`the body is not valid JSON: ${(err as Error).message}`);
      }
      body = parse(spec.body, json, 'body');
    }
  }
  return { params, query, body, raw, req };
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.length > 0 ? `${where}.${issue.path.join('.')}` : where;
  throw new InvalidInput(`${path}: ${issue.message}`, { key: path });
}

async function readBody(ctx: Koa.Context, limit: number): Promise<string> {
  try {
    return await getRawBody(ctx.req, { limit, encoding: 'utf8', length: ctx.get('content-length') || undefined });
  } catch (err) {
    const e = err as { type?: string; message: string };
    if (e.type === 'entity.too.large') throw new LimitExceeded(`the body is larger than ${limit} bytes`);
    throw new InvalidInput(`could not read the body: ${e.message}`);
  }
}

function respond(ctx: Koa.Context, result: HandlerResult): void {
  for (const [k, v] of Object.entries(result.headers ?? {})) ctx.set(k, v);
  ctx.status = result.status ?? (result.body === undefined ? 204 : 200);
  if (result.body !== undefined) ctx.body = result.body;
}

function auditEntry(action: string, req: RequestInfo, outcome: AuditEntry['outcome'], result?: HandlerResult, err?: unknown): AuditEntry {
  return {
    actor: result?.audit?.actor ?? req.principal?.actor ?? 'anonymous',
    action: result?.audit?.action ?? action,
    resource: result?.audit?.resource,
    outcome,
    ip: req.ip,
    userAgent: req.userAgent,
    requestId: req.requestId,
    details: err ? { ...result?.audit?.details, error: (err as Error).message } : result?.audit?.details,
  };
}

export { z };
