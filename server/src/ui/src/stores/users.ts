import { defineStore } from 'pinia';
import { api, ApiError, type ResponseOf, type Role } from '../api';
import { trackRead } from './reads';

export type User = ResponseOf<'/admin/api/users', 'get'>['users'][number];
export type ApiToken = ResponseOf<'/admin/api/tokens', 'get'>['tokens'][number];
export type CreatedToken = ResponseOf<'/admin/api/tokens', 'post', 201>;

export interface NewUser {
  username: string;
  password: string;
  role: Role;
}

export interface NewToken {
  name: string;
  role: Role;
  /** undefined: the token never expires. */
  expiresInDays?: number;
}

/** Whether a token still works: revoked and expired ones are listed (for the record) but refused. */
export function tokenState(t: ApiToken, now = Date.now()): 'active' | 'revoked' | 'expired' {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return 'expired';
  return 'active';
}

/**
 * People (users) and automation (API tokens). A new token's secret is held
 * here only until the page shows it and the admin dismisses it: the server
 * never returns it again, and it must not linger in memory or storage.
 */
export const useUsers = defineStore('users', {
  state: () => ({
    users: undefined as User[] | undefined,
    usersError: undefined as ApiError | undefined,
    usersLoading: false,
    tokens: undefined as ApiToken[] | undefined,
    tokensError: undefined as ApiError | undefined,
    tokensLoading: false,
    /** The secret of the token just created; shown once. */
    created: undefined as (CreatedToken & { name: string }) | undefined,
  }),
  actions: {
    async fetchUsers(): Promise<void> {
      await trackRead(this, 'usersLoading', 'usersError', async () => {
        this.users = (await api().call<{ users: User[] }>(api().raw.GET('/admin/api/users'))).users;
      });
    },
    /** Errors are thrown to the form that asked (a weak password, a taken name), not kept as the list's error. */
    async createUser(u: NewUser): Promise<User> {
      const user = await api().call<User>(api().raw.POST('/admin/api/users', { body: u }));
      await this.fetchUsers();
      return user;
    },
    async updateUser(id: number, change: { role?: Role; disabled?: boolean }): Promise<User> {
      const user = await api().call<User>(api().raw.PATCH('/admin/api/users/{id}', { params: { path: { id } }, body: change }));
      await this.fetchUsers();
      return user;
    },
    async deleteUser(id: number): Promise<void> {
      await api().call(api().raw.DELETE('/admin/api/users/{id}', { params: { path: { id } } }));
      await this.fetchUsers();
    },
    async fetchTokens(): Promise<void> {
      await trackRead(this, 'tokensLoading', 'tokensError', async () => {
        this.tokens = (await api().call<{ tokens: ApiToken[] }>(api().raw.GET('/admin/api/tokens'))).tokens;
      });
    },
    async createToken(t: NewToken): Promise<CreatedToken> {
      const body = { name: t.name, role: t.role, ...(t.expiresInDays !== undefined ? { expiresInDays: t.expiresInDays } : {}) };
      const created = await api().call<CreatedToken>(api().raw.POST('/admin/api/tokens', { body }));
      this.created = { ...created, name: t.name };
      await this.fetchTokens();
      return created;
    },
    dismissCreated(): void {
      this.created = undefined;
    },
    async revokeToken(id: number): Promise<void> {
      await api().call(api().raw.DELETE('/admin/api/tokens/{id}', { params: { path: { id } } }));
      if (this.created?.id === id) this.created = undefined;
      await this.fetchTokens();
    },
  },
});
