import { z } from 'zod';
import type { ApiTokenRow } from '../../db/api-tokens.js';
import type { SessionRow } from '../../db/sessions.js';
import type { UserRow } from '../../db/users.js';
import { Forbidden, InvalidInput, Unauthorized } from '../../errors.js';
import type { LoginRefusal } from '../audit/log.js';
import { route, type RequestInfo, type RouteSpec } from '../framework/route.js';
import type { AuditEntry } from '../framework/router.js';
import { ADMINS, JOB_READERS, type Principal } from '../principal.js';
import type { AuthService, Identity } from './service.js';
import { LoginThrottled } from './throttle.js';
import { VerifiersBusy } from './verify-slots.js';

// Every role: people, automation and the operator may all sign out and see who they are.
const ANY_ROLE = JOB_READERS;
const role = z.enum(['admin', 'operator', 'viewer']);
const isoOrNull = z.string().nullable();
// Responses that carry a secret must not be kept by any cache.
const NO_STORE = { 'Cache-Control': 'no-store' };

const loginBody = z.object({
  // Bounded: the username is stored with each failure, the password goes to bcrypt.
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
});
const loginResponse = z.object({ token: z.string(), expiresAt: z.string() });
const userView = z.object({ id: z.number(), username: z.string(), role, lastLoginAt: isoOrNull });
const meResponse = z.object({ kind: z.enum(['user', 'token', 'bootstrap']), actor: z.string(), role, user: userView.optional() });
const sessionView = z.object({
  id: z.string(),
  current: z.boolean(),
  createdAt: z.string(),
  expiresAt: z.string(),
  lastSeenAt: isoOrNull,
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
});
const sessionParams = z.object({ id: z.string().min(1).max(64) });
const tokenBody = z.object({
  name: z.string().trim().min(1).max(64),
  role,
  expiresInDays: z.number().int().min(1).max(3650).optional().describe('lifetime in days; or'),
  expiresAt: z.iso.datetime({ offset: true }).optional().describe('an absolute expiry (ISO 8601, in the future); neither: never expires'),
});
const tokenView = z.object({
  id: z.number(),
  name: z.string(),
  prefix: z.string(),
  role,
  createdAt: z.string(),
  expiresAt: isoOrNull,
  lastUsedAt: isoOrNull,
  revokedAt: isoOrNull,
});
const createdToken = z.object({ id: z.number(), token: z.string(), prefix: z.string(), role, expiresAt: isoOrNull });
const tokenParams = z.object({ id: z.coerce.number().int().positive() });

/** Where sign-ins are audited: successes as entries, refusals counted per (username, address, window). */
export interface LoginAudit {
  record(entry: AuditEntry): void;
  recordLoginRefusal(entry: AuditEntry, username: string, reason: LoginRefusal): void;
}

/**
 * Sign-in, sessions and API tokens.
 *
 * The login route audits itself instead of through the framework's `audit`:
 * the framework would write a row per refused attempt and, since a thrown
 * error carries no audit data, without the attempted username. Here a
 * refusal (wrong credentials, throttled, no free verification slot) is
 * counted into one entry per username, address and window; a successful
 * login is an entry of its own, as `user:<name>`.
 */
export function authRoutes(deps: { auth: AuthService; audit: LoginAudit }): RouteSpec[] {
  const { auth, audit } = deps;
  return [
    route({
      method: 'post',
      path: '/auth/login',
      summary: 'Sign in with a username and password; returns a session token',
      tag: 'auth',
      access: 'public',
      body: loginBody,
      responses: {
        200: { description: 'signed in', schema: loginResponse },
        401: { description: 'invalid username or password' },
        429: { description: 'too many failed sign-ins; see Retry-After' },
      },
      async handler({ body, req }) {
        const base = { action: 'auth.login', ip: req.ip, userAgent: req.userAgent, requestId: req.requestId, actor: 'anonymous' };
        let result;
        try {
          result = await auth.login(body.username, body.password, { ip: req.ip, userAgent: req.userAgent });
        } catch (err) {
          const reason = refusalOf(err);
          if (reason) audit.recordLoginRefusal({ ...base, outcome: 'failure' }, body.username, reason);
          else audit.record({ ...base, outcome: 'failure', details: { error: (err as Error).message } });
          throw err;
        }
        audit.record({ ...base, outcome: 'success', actor: `user:${result.user.username}`, resource: `user:${result.user.id}` });
        return { body: { token: result.token, expiresAt: result.expiresAt }, headers: NO_STORE };
      },
    }),
    route({
      method: 'post',
      path: '/auth/logout',
      summary: 'Revoke the session token presented with this request',
      tag: 'auth',
      access: ANY_ROLE,
      responses: { 204: { description: 'the session is revoked' } },
      audit: 'auth.logout',
      async handler({ req }) {
        const principal = principalOf(req);
        if (principal.sessionId === undefined) {
          throw new InvalidInput(
            principal.kind === 'token'
              ? 'an API token has no session to sign out of; revoke it with DELETE /admin/api/tokens/{id}'
              : 'the bootstrap token cannot be revoked; change auth.operator_token instead',
          );
        }
        auth.logout(principal.sessionId);
        return { status: 204, audit: { resource: `session:${principal.sessionId}` } };
      },
    }),
    route({
      method: 'get',
      path: '/auth/me',
      summary: 'Who the presented token belongs to',
      tag: 'auth',
      access: ANY_ROLE,
      responses: { 200: { description: 'the caller', schema: meResponse } },
      async handler({ req }) {
        return { body: presentIdentity(auth.identify(principalOf(req))) };
      },
    }),
    route({
      method: 'get',
      path: '/auth/sessions',
      summary: "The caller's live sessions",
      tag: 'auth',
      access: ANY_ROLE,
      responses: { 200: { description: 'sessions, newest first', schema: z.object({ sessions: z.array(sessionView) }) } },
      async handler({ req }) {
        const principal = principalOf(req);
        if (principal.userId === undefined) throw new Forbidden('only a signed-in user has sessions; this is an API or bootstrap token');
        return { body: { sessions: auth.listSessions(principal.userId).map((s) => presentSession(s, principal.sessionId)) } };
      },
    }),
    route({
      method: 'delete',
      path: '/auth/sessions/:id',
      summary: 'Revoke a session (your own; admins: anyone’s)',
      tag: 'auth',
      access: ANY_ROLE,
      params: sessionParams,
      responses: { 204: { description: 'revoked (or already revoked)' }, 404: { description: 'no such session of yours' } },
      audit: 'auth.session.revoke',
      async handler({ params, req }) {
        const session = auth.revokeSession(principalOf(req), params.id);
        return { status: 204, audit: { resource: `session:${session.id}`, details: { userId: session.userId } } };
      },
    }),
    route({
      method: 'post',
      path: '/tokens',
      summary: 'Create an API token; the secret is in this response only',
      tag: 'tokens',
      access: ADMINS,
      body: tokenBody,
      responses: { 201: { description: 'created; store the token now, it is not shown again', schema: createdToken } },
      audit: 'token.create',
      async handler({ body, req }) {
        const { token, row } = auth.createToken(principalOf(req), {
          name: body.name,
          role: body.role,
          expiresInDays: body.expiresInDays,
          expiresAt: body.expiresAt === undefined ? undefined : Date.parse(body.expiresAt),
        });
        return {
          status: 201,
          body: { id: row.id, token, prefix: row.prefix, role: row.role, expiresAt: iso(row.expiresAt) },
          headers: NO_STORE,
          audit: { resource: `token:${row.id}`, details: { name: row.name, role: row.role, expiresAt: iso(row.expiresAt) } },
        };
      },
    }),
    route({
      method: 'get',
      path: '/tokens',
      summary: 'List API tokens (never their secrets)',
      tag: 'tokens',
      access: ADMINS,
      responses: { 200: { description: 'all tokens, revoked ones included', schema: z.object({ tokens: z.array(tokenView) }) } },
      async handler() {
        return { body: { tokens: auth.listTokens().map(presentToken) } };
      },
    }),
    route({
      method: 'delete',
      path: '/tokens/:id',
      summary: 'Revoke an API token',
      tag: 'tokens',
      access: ADMINS,
      params: tokenParams,
      responses: { 204: { description: 'revoked (or already revoked)' }, 404: { description: 'no such token' } },
      audit: 'token.revoke',
      async handler({ params }) {
        const row = auth.revokeToken(params.id);
        return { status: 204, audit: { resource: `token:${row.id}`, details: { name: row.name } } };
      },
    }),
  ];
}

function refusalOf(err: unknown): LoginRefusal | undefined {
  if (err instanceof LoginThrottled) return 'throttled';
  if (err instanceof VerifiersBusy) return 'busy';
  if (err instanceof Unauthorized) return 'invalid';
  return undefined;
}

/** Non-public routes always have a principal; this says so to the type checker. */
function principalOf(req: RequestInfo): Principal {
  if (!req.principal) throw new Error('route reached without a principal: the router must authenticate first');
  return req.principal;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function presentUser(u: UserRow): z.infer<typeof userView> {
  return { id: u.id, username: u.username, role: u.role, lastLoginAt: iso(u.lastLoginAt) };
}

function presentIdentity({ principal, user }: Identity): z.infer<typeof meResponse> {
  const me: z.infer<typeof meResponse> = { kind: principal.kind, actor: principal.actor, role: principal.role };
  if (user) me.user = presentUser(user);
  return me;
}

function presentSession(s: SessionRow, currentId: string | undefined): z.infer<typeof sessionView> {
  return {
    id: s.id,
    current: s.id === currentId,
    createdAt: new Date(s.createdAt).toISOString(),
    expiresAt: new Date(s.expiresAt).toISOString(),
    lastSeenAt: iso(s.lastSeenAt),
    ip: s.ip,
    userAgent: s.userAgent,
  };
}

function presentToken(t: ApiTokenRow): z.infer<typeof tokenView> {
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    role: t.role,
    createdAt: new Date(t.createdAt).toISOString(),
    expiresAt: iso(t.expiresAt),
    lastUsedAt: iso(t.lastUsedAt),
    revokedAt: iso(t.revokedAt),
  };
}
