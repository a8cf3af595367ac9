import { z } from 'zod';
import type { UserRow } from '../../db/users.js';
import { route, type RequestInfo, type RouteSpec } from '../framework/route.js';
import { ADMINS, JOB_READERS, type Principal } from '../principal.js';
import type { UserService } from './service.js';

const role = z.enum(['admin', 'operator', 'viewer']);
const isoOrNull = z.string().nullable();

const userView = z.object({
  id: z.number(),
  username: z.string(),
  role,
  disabled: z.boolean(),
  createdAt: z.string(),
  lastLoginAt: isoOrNull,
  lastLoginIp: z.string().nullable(),
  passwordChangedAt: isoOrNull,
});
const userParams = z.object({ id: z.coerce.number().int().positive() });
const createBody = z.object({
  username: z.string().min(1).max(64),
  // Bounded here; the policy (length, classes, common passwords) is the service's.
  password: z.string().min(1).max(1024),
  role: role.default('viewer'),
});
const updateBody = z
  .object({ role: role.optional(), disabled: z.boolean().optional() })
  .refine((b) => b.role !== undefined || b.disabled !== undefined, { message: 'give role and/or disabled' });
const passwordBody = z.object({
  currentPassword: z.string().min(1).max(1024).optional().describe('required when changing your own password'),
  newPassword: z.string().min(1).max(1024),
});
const revoked = z.object({ revokedSessions: z.number() });

/**
 * /users: accounts for people. Admins manage everyone; anyone signed in may
 * change their own password (with the current one). Passwords never appear
 * in responses or audit details.
 */
export function userRoutes(deps: { users: UserService }): RouteSpec[] {
  const { users } = deps;
  return [
    route({
      method: 'get',
      path: '/users',
      summary: 'List users',
      tag: 'users',
      access: ADMINS,
      responses: { 200: { description: 'all users, by username', schema: z.object({ users: z.array(userView) }) } },
      async handler() {
        return { body: { users: users.list().map(presentUser) } };
      },
    }),
    route({
      method: 'post',
      path: '/users',
      summary: 'Create a user',
      tag: 'users',
      access: ADMINS,
      body: createBody,
      responses: {
        201: { description: 'created', schema: userView },
        400: { description: 'bad username, or the password breaks the policy' },
        409: { description: 'the username exists (in any letter case)' },
      },
      audit: 'user.create',
      async handler({ body }) {
        const user = await users.create(body);
        return { status: 201, body: presentUser(user), audit: { resource: `user:${user.id}`, details: { username: user.username, role: user.role } } };
      },
    }),
    route({
      method: 'get',
      path: '/users/:id',
      summary: 'One user',
      tag: 'users',
      access: ADMINS,
      params: userParams,
      responses: { 200: { description: 'the user', schema: userView }, 404: { description: 'no such user' } },
      async handler({ params }) {
        return { body: presentUser(users.get(params.id)) };
      },
    }),
    route({
      method: 'patch',
      path: '/users/:id',
      summary: 'Change the role of a user, or disable or enable them',
      tag: 'users',
      access: ADMINS,
      params: userParams,
      body: updateBody,
      responses: {
        200: { description: 'updated; disabling revokes every session; the API tokens they created work only while they are an enabled admin', schema: userView },
        404: { description: 'no such user' },
        409: { description: 'this would leave no enabled admin' },
      },
      audit: 'user.update',
      async handler({ params, body }) {
        const user = users.update(params.id, body);
        return { body: presentUser(user), audit: { resource: `user:${user.id}`, details: { ...body } } };
      },
    }),
    route({
      method: 'patch',
      path: '/users/:id/password',
      summary: "Change a password: your own with the current one, or (admins) anyone's",
      tag: 'users',
      // Every role reaches the handler: changing one's own password is for everybody.
      access: JOB_READERS,
      params: userParams,
      body: passwordBody,
      responses: {
        200: { description: "changed; the user's other sessions are revoked", schema: revoked },
        400: { description: 'the new password breaks the policy, or currentPassword is missing' },
        403: { description: "the current password is wrong, or not an admin changing someone else's" },
        404: { description: 'no such user' },
        429: { description: 'too many wrong current passwords; see Retry-After' },
      },
      audit: 'user.password',
      async handler({ params, body, req }) {
        const { user, revokedSessions } = await users.changePassword(principalOf(req), params.id, body, req.ip);
        return { body: { revokedSessions }, audit: { resource: `user:${user.id}`, details: { revokedSessions } } };
      },
    }),
    route({
      method: 'delete',
      path: '/users/:id',
      summary: 'Delete a user; their sessions go, and the API tokens they created are revoked',
      tag: 'users',
      access: ADMINS,
      params: userParams,
      responses: {
        204: { description: 'deleted' },
        404: { description: 'no such user' },
        409: { description: 'yourself, or the last enabled admin' },
      },
      audit: 'user.delete',
      async handler({ params, req }) {
        const user = users.remove(principalOf(req), params.id);
        return { status: 204, audit: { resource: `user:${user.id}`, details: { username: user.username } } };
      },
    }),
    route({
      method: 'post',
      path: '/users/:id/sessions/revoke',
      summary: 'Sign a user out everywhere: revoke all their sessions',
      tag: 'users',
      access: ADMINS,
      params: userParams,
      responses: { 200: { description: 'how many live sessions were revoked', schema: revoked }, 404: { description: 'no such user' } },
      audit: 'user.sessions.revoke',
      async handler({ params }) {
        const revokedSessions = users.revokeSessions(params.id);
        return { body: { revokedSessions }, audit: { resource: `user:${params.id}`, details: { revokedSessions } } };
      },
    }),
  ];
}

function principalOf(req: RequestInfo): Principal {
  if (!req.principal) throw new Error('route reached without a principal: the router must authenticate first');
  return req.principal;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function presentUser(u: UserRow): z.infer<typeof userView> {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    disabled: u.disabled,
    createdAt: new Date(u.createdAt).toISOString(),
    lastLoginAt: iso(u.lastLoginAt),
    lastLoginIp: u.lastLoginIp,
    passwordChangedAt: iso(u.passwordChangedAt),
  };
}
