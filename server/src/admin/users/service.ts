import type { ApiTokenRepository } from '../../db/api-tokens.js';
import type { SessionRepository } from '../../db/sessions.js';
import type { UserRepository, UserRow } from '../../db/users.js';
import { Conflict, Forbidden, InvalidInput, NotFound } from '../../errors.js';
import { createUser, type NewAccount } from '../auth/accounts.js';
import { assertPasswordPolicy } from '../auth/passwords.js';
import type { AuthService } from '../auth/service.js';
import type { Principal, Role } from '../principal.js';

export interface UserRepositories {
  users: UserRepository;
  sessions: SessionRepository;
  tokens: ApiTokenRepository;
}

export interface UserChanges {
  role?: Role;
  disabled?: boolean;
}

export interface PasswordChange {
  /** Required when changing one's own password, whoever one is. */
  currentPassword?: string;
  newPassword: string;
}

/**
 * The user lifecycle: create, change role, disable, change password,
 * delete, revoke sessions. Every change that takes access away takes it
 * away at once: sessions are revoked in the same transaction, and a
 * disabled user's sessions and API tokens fail on their next request (the
 * auth service checks the user row each time).
 */
export class UserService {
  private readonly users: UserRepository;
  private readonly sessions: SessionRepository;
  private readonly tokens: ApiTokenRepository;

  constructor(
    repos: UserRepositories,
    private readonly auth: Pick<AuthService, 'passwords' | 'confirmPassword' | 'now'>,
  ) {
    this.users = repos.users;
    this.sessions = repos.sessions;
    this.tokens = repos.tokens;
  }

  list(): UserRow[] {
    return this.users.list();
  }

  get(id: number): UserRow {
    return this.users.get(id);
  }

  create(account: NewAccount): Promise<UserRow> {
    return createUser({ users: this.users, passwords: this.auth.passwords }, account, this.auth.now());
  }

  /** Role and enabled state. Disabling revokes every session; the last enabled admin cannot lose the role. */
  update(id: number, changes: UserChanges): UserRow {
    return this.users.transaction(() => {
      const before = this.users.get(id);
      const losesAdmin = before.role === 'admin' && !before.disabled && (changes.disabled === true || (changes.role !== undefined && changes.role !== 'admin'));
      if (losesAdmin) this.assertNotLastAdmin(before);
      let after = before;
      if (changes.role !== undefined && changes.role !== before.role) after = this.users.setRole(id, changes.role);
      if (changes.disabled !== undefined && changes.disabled !== before.disabled) {
        after = this.users.setDisabled(id, changes.disabled);
        // Re-enabling must not bring back the sessions from before.
        if (changes.disabled) this.sessions.revokeAllOf(id, this.auth.now());
      }
      return after;
    });
  }

  /**
   * One's own password, with the current one (checked like a sign-in:
   * throttled and within the bcrypt cap); or anyone's, for an admin. Every
   * other session of the user is revoked; the caller's own stays.
   */
  async changePassword(principal: Principal, id: number, change: PasswordChange, ip: string): Promise<{ user: UserRow; revokedSessions: number }> {
    const self = principal.userId === id;
    if (!self && principal.role !== 'admin') throw new Forbidden("only an admin may change another user's password");
    const user = this.users.get(id);
    assertPasswordPolicy(change.newPassword, user.username);
    if (self) {
      if (change.currentPassword === undefined) throw new InvalidInput('currentPassword is required to change your own password', { key: 'currentPassword' });
      const ok = await this.auth.confirmPassword(user.username, change.currentPassword, this.users.passwordHashOf(id), ip);
      if (!ok) throw new Forbidden('the current password is wrong');
    }
    const hash = await this.auth.passwords.hash(change.newPassword);
    return this.users.transaction(() => {
      const now = this.auth.now();
      const updated = this.users.setPassword(id, hash, now);
      const revokedSessions = this.revokeSessionsOf(id, now, self ? principal.sessionId : undefined);
      return { user: updated, revokedSessions };
    });
  }

  /** Deletes a user with their sessions; the API tokens they created are revoked, not left ownerless and live. */
  remove(principal: Principal, id: number): UserRow {
    return this.users.transaction(() => {
      const user = this.users.get(id);
      if (principal.userId === id) throw new Conflict('you cannot delete yourself; another admin can');
      if (user.role === 'admin' && !user.disabled) this.assertNotLastAdmin(user);
      this.tokens.revokeCreatedBy(id, this.auth.now());
      this.users.remove(id);
      return user;
    });
  }

  /** Revokes every live session of a user ("sign out everywhere"); returns how many. */
  revokeSessions(id: number): number {
    if (!this.users.find(id)) throw new NotFound(`user ${id} does not exist`);
    return this.sessions.revokeAllOf(id, this.auth.now());
  }

  private revokeSessionsOf(id: number, now: number, keep: string | undefined): number {
    if (keep === undefined) return this.sessions.revokeAllOf(id, now);
    let n = 0;
    for (const s of this.sessions.listOf(id)) {
      if (s.id !== keep && s.revokedAt === null && this.sessions.revoke(s.id, now)) n++;
    }
    return n;
  }

  private assertNotLastAdmin(user: UserRow): void {
    if (this.users.countActiveAdmins() <= 1) {
      throw new Conflict(`${user.username} is the last enabled admin; make another user admin first`);
    }
  }
}
