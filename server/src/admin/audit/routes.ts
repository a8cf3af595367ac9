import { z } from 'zod';
import { MAX_AUDIT_PAGE, type AuditRow } from '../../db/audit.js';
import { route, type RouteSpec } from '../framework/route.js';
import { ADMINS } from '../principal.js';
import type { AuditLog } from './log.js';

export interface AuditRoutesDeps {
  audit: Pick<AuditLog, 'query'>;
}

const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((s) => Date.parse(s))
  .describe('ISO 8601 date-time (with Z or an offset) or date');

export const AuditQuerySchema = z.object({
  actor: z.string().min(1).max(256).optional().describe('exact actor, e.g. "user:alice"'),
  action: z.string().min(1).max(128).optional().describe('exact action, or a prefix ending in "." (e.g. "auth.")'),
  resource: z.string().min(1).max(512).optional().describe('exact resource, e.g. "provider:12"'),
  outcome: z.enum(['success', 'failure']).optional(),
  since: instant.optional().describe('entries at or after this instant'),
  until: instant.optional().describe('entries before this instant'),
  limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const AuditItemSchema = z.object({
  id: z.number(),
  at: z.string().describe('ISO 8601'),
  actor: z.string(),
  action: z.string(),
  resource: z.string().nullable(),
  outcome: z.enum(['success', 'failure']),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  details: z.unknown().nullable(),
  count: z.number().describe('events this entry stands for (refused sign-ins are aggregated per username, address and 15 minutes)'),
  lastAt: z.string().nullable().describe('ISO 8601: the latest of those events, when more than one'),
});

export const AuditPageSchema = z.object({ items: z.array(AuditItemSchema), total: z.number() });

/** GET /stats/audit: the audit log, newest first, filtered and paged. Admins only: it names people and addresses. */
export function auditRoutes(deps: AuditRoutesDeps): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/stats/audit',
      summary: 'Query the audit log',
      tag: 'audit',
      access: ADMINS,
      query: AuditQuerySchema,
      responses: { 200: { description: 'Matching entries, newest first, and their total count', schema: AuditPageSchema } },
      async handler({ query }) {
        const page = deps.audit.query(query);
        return { body: { items: page.items.map(presentAuditRow), total: page.total } };
      },
    }),
  ];
}

export function presentAuditRow(r: AuditRow): z.infer<typeof AuditItemSchema> {
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    action: r.action,
    resource: r.resource,
    outcome: r.outcome,
    ip: r.ip,
    userAgent: r.userAgent,
    requestId: r.requestId,
    details: parseDetails(r.details),
    count: r.count,
    lastAt: r.lastAt === null ? null : new Date(r.lastAt).toISOString(),
  };
}

function parseDetails(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // written by something other than AuditLog; show it rather than fail the page
  }
}
