import type { Database } from './database.js';
import { Conflict, NotFound } from '../errors.js';

/** The roles the schema admits (the same union as the admin API's Role; db/ does not import admin/). */
export type UserRole = 'admin' | 'operator' | 'viewer';

/** A user as every caller may see it: never the password hash. */
export interface UserRow {
  id: number;
  username: string;
  role: UserRole;
  disabled: boolean;
  createdAt: number;
  lastLoginAt: number | null;
  lastLoginIp: string | null;
  lastLoginAgent: string | null;
  passwordChangedAt: number | null;
}

/** The row login needs: the user plus the bcrypt hash to verify against. */
export interface UserCredentials extends UserRow {
  passwordHash: string;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  role: UserRole;
}

type RawUser = Omit<UserRow, 'disabled'> & { disabled: number };

const userColumns = `id, username, role, disabled, created_at AS createdAt, last_login_at AS lastLoginAt,
  last_login_ip AS lastLoginIp, last_login_agent AS lastLoginAgent, password_changed_at AS passwordChangedAt`;

/**
 * Users of the admin API. Usernames compare case-insensitively (the column is
 * COLLATE NOCASE), so "Alice" and "alice" are one account. Times are epoch ms
 * from the caller's clock.
 */
export class UserRepository {
  private readonly stmts;

  constructor(private readonly db: Database) {
    this.stmts = {
      insert: db.prepare<[string, string, string, number]>(
        `INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (username) DO NOTHING`,
      ),
      byUsername: db.prepare<[string], RawUser & { passwordHash: string }>(
        `SELECT ${userColumns}, password_hash AS passwordHash FROM users WHERE username = ?`,
      ),
      byId: db.prepare<[number], RawUser>(`SELECT ${userColumns} FROM users WHERE id = ?`),
      list: db.prepare<[], RawUser>(`SELECT ${userColumns} FROM users ORDER BY username`),
      recordLogin: db.prepare<[number, string, string, number]>(
        `UPDATE users SET last_login_at = ?, last_login_ip = ?, last_login_agent = ? WHERE id = ?`,
      ),
      hashOf: db.prepare<[number], { passwordHash: string }>(`SELECT password_hash AS passwordHash FROM users WHERE id = ?`),
      setPassword: db.prepare<[string, number, number]>(`UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?`),
      setDisabled: db.prepare<[number, number]>(`UPDATE users SET disabled = ? WHERE id = ?`),
      setRole: db.prepare<[string, number]>(`UPDATE users SET role = ? WHERE id = ?`),
      remove: db.prepare<[number]>(`DELETE FROM users WHERE id = ?`),
      countActiveAdmins: db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0`),
    };
  }

  /** Creates a user; an existing username (in any letter case) is a Conflict. */
  create(user: NewUser, now: number): UserRow {
    const result = this.stmts.insert.run(user.username, user.passwordHash, user.role, now);
    if (result.changes === 0) throw new Conflict(`user "${user.username}" already exists`);
    return this.get(Number(result.lastInsertRowid));
  }

  /** For login only: the one read that returns the password hash. */
  findByUsername(username: string): UserCredentials | undefined {
    const row = this.stmts.byUsername.get(username);
    return row ? { ...toUser(row), passwordHash: row.passwordHash } : undefined;
  }

  find(id: number): UserRow | undefined {
    const row = this.stmts.byId.get(id);
    return row ? toUser(row) : undefined;
  }

  get(id: number): UserRow {
    const user = this.find(id);
    if (!user) throw new NotFound(`user ${id} does not exist`);
    return user;
  }

  recordLogin(id: number, ip: string, agent: string, now: number): void {
    this.stmts.recordLogin.run(now, ip, agent, id);
  }

  list(): UserRow[] {
    return this.stmts.list.all().map(toUser);
  }

  /** The bcrypt hash of a user, to check a current password; NotFound when there is no such user. */
  passwordHashOf(id: number): string {
    const row = this.stmts.hashOf.get(id);
    if (!row) throw new NotFound(`user ${id} does not exist`);
    return row.passwordHash;
  }

  setPassword(id: number, passwordHash: string, now: number): UserRow {
    if (this.stmts.setPassword.run(passwordHash, now, id).changes === 0) throw new NotFound(`user ${id} does not exist`);
    return this.get(id);
  }

  setDisabled(id: number, disabled: boolean): UserRow {
    if (this.stmts.setDisabled.run(disabled ? 1 : 0, id).changes === 0) throw new NotFound(`user ${id} does not exist`);
    return this.get(id);
  }

  setRole(id: number, role: UserRole): UserRow {
    if (this.stmts.setRole.run(role, id).changes === 0) throw new NotFound(`user ${id} does not exist`);
    return this.get(id);
  }

  /** Deletes a user; their sessions go with them (ON DELETE CASCADE). NotFound when absent. */
  remove(id: number): void {
    if (this.stmts.remove.run(id).changes === 0) throw new NotFound(`user ${id} does not exist`);
  }

  /** Enabled admins: the last one may not be disabled, demoted or deleted. */
  countActiveAdmins(): number {
    return this.stmts.countActiveAdmins.get()!.n;
  }

  /** Runs `fn` in one IMMEDIATE transaction (changes that span users, sessions and tokens). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}

function toUser(row: RawUser): UserRow {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    disabled: row.disabled !== 0,
    createdAt: row.createdAt,
    lastLoginAt: row.lastLoginAt,
    lastLoginIp: row.lastLoginIp,
    lastLoginAgent: row.lastLoginAgent,
    passwordChangedAt: row.passwordChangedAt,
  };
}

// Kept importable from here: the login failures were declared beside users first.
export { LoginFailureRepository, type FailureCount } from './login-failures.js';
