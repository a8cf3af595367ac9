import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setApi } from '../../../../server/src/ui/src/api';
import { tokenState, useUsers, type ApiToken } from '../../../../server/src/ui/src/stores/users';
import { apiOver, fakeServer } from '../fake-server';

const token = (over: Partial<ApiToken> = {}): ApiToken => ({
  id: 3,
  name: 'ci',
  prefix: 'tfm_abcd',
  role: 'operator',
  createdAt: '2026-12-01T10:00:00.000Z',
  expiresAt: null,
  lastUsedAt: null,
  revokedAt: null,
  ...over,
});

describe('users store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('a token is active, expired or revoked by its dates', () => {
    const now = Date.parse('2026-12-02T00:00:00Z');
    expect(tokenState(token(), now)).toBe('active');
    expect(tokenState(token({ expiresAt: '2026-12-01T23:59:59Z' }), now)).toBe('expired');
    expect(tokenState(token({ expiresAt: '2027-01-01T00:00:00Z', revokedAt: '2026-12-01T12:00:00Z' }), now)).toBe('revoked');
  });

  it('creates a token with its lifetime, holds the secret until dismissed, and forgets it when that token is revoked', async () => {
    let tokens: ApiToken[] = [];
    const server = fakeServer({
      'POST /admin/api/tokens': (s) => {
        tokens = [token({ expiresAt: '2027-03-01T00:00:00.000Z' })];
        return { status: 201, body: { id: 3, token: 'tfm_abcd_secret', prefix: 'tfm_abcd', role: JSON.parse(s.body).role, expiresAt: '2027-03-01T00:00:00.000Z' } };
      },
      'GET /admin/api/tokens': () => ({ body: { tokens } }),
      'DELETE /admin/api/tokens/3': () => {
        tokens = [token({ revokedAt: '2026-12-01T11:00:00.000Z' })];
        return { status: 204 };
      },
    });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const users = useUsers();
    await users.createToken({ name: 'ci', role: 'operator', expiresInDays: 90 });
    expect(JSON.parse(server.seen[0]!.body)).toEqual({ name: 'ci', role: 'operator', expiresInDays: 90 });
    expect(users.created).toMatchObject({ name: 'ci', token: 'tfm_abcd_secret' });
    expect(users.tokens).toHaveLength(1);
    await users.revokeToken(3);
    expect(users.created).toBeUndefined();
    expect(tokenState(users.tokens![0]!)).toBe('revoked');
  });

  it('a token that never expires is created without a lifetime', async () => {
    const server = fakeServer({
      'POST /admin/api/tokens': { status: 201, body: { id: 4, token: 's', prefix: 'p', role: 'viewer', expiresAt: null } },
      'GET /admin/api/tokens': { body: { tokens: [] } },
    });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const users = useUsers();
    await users.createToken({ name: 'forever', role: 'viewer' });
    expect(JSON.parse(server.seen[0]!.body)).toEqual({ name: 'forever', role: 'viewer' });
    users.dismissCreated();
    expect(users.created).toBeUndefined();
  });

  it('a refused change (the last admin) is thrown to the caller and leaves the list as it was', async () => {
    const list = [{ id: 1, username: 'alice', role: 'admin', disabled: false, createdAt: '2026-12-01T10:00:00.000Z', lastLoginAt: null, lastLoginIp: null, passwordChangedAt: null }];
    const server = fakeServer({
      'GET /admin/api/users': { body: { users: list } },
      'PATCH /admin/api/users/1': { status: 409, body: { error: { message: 'this would leave no enabled admin' } } },
    });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const users = useUsers();
    await users.fetchUsers();
    await expect(users.updateUser(1, { disabled: true })).rejects.toMatchObject({ status: 409, message: 'this would leave no enabled admin' });
    expect(users.users).toEqual(list);
    expect(users.usersError).toBeUndefined();
  });
});
