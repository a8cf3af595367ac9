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
  last_login_ip AS lastLoginIp, last_login_agent AS lastLoginAgent`;

/**
 * Users of the admin API. Usernames compare case-insensitively (the column is
 * COLLATE NOCASE), so "Alice" and "alice" are one account. Times are epoch ms
 * from the caller's clock.
 */
export class UserRepository {
  private readonly stmts;

  constructor(db: Database) {
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
  };
}

/** How many failures matched, and when the latest was (0 / null when none). */
export interface FailureCount {
  count: number;
  last: number | null;
}

/**
 * Failed logins, kept for throttling. Lives beside users because it is keyed
 * by username (compared case-insensitively, like the users table).
 */
export class LoginFailureRepository {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      insert: db.prepare<[string, string, number]>(`INSERT INTO login_failures (username, ip, at) VALUES (?, ?, ?)`),
      byUsername: db.prepare<[string, number], FailureCount>(
        `SELECT COUNT(*) AS count, MAX(at) AS last FROM login_failures WHERE username = ? AND at >= ?`,
      ),
      byIp: db.prepare<[string, number], FailureCount>(
        `SELECT COUNT(*) AS count, MAX(at) AS last FROM login_failures WHERE ip = ? AND at >= ?`,
      ),
      clearUsername: db.prepare<[string]>(`DELETE FROM login_failures WHERE username = ?`),
      prune: db.prepare<[number]>(`DELETE FROM login_failures WHERE at < ?`),
    };
  }

  record(username: string, ip: string, at: number): void {
    this.stmts.insert.run(username, ip, at);
  }

  countForUsername(username: string, since: number): FailureCount {
    return this.stmts.byUsername.get(username, since)!;
  }

  countForIp(ip: string, since: number): FailureCount {
    return this.stmts.byIp.get(ip, since)!;
  }

  clearUsername(username: string): void {
    this.stmts.clearUsername.run(username);
  }

  /** Deletes failures older than `before`; returns how many. */
  prune(before: number): number {
    return this.stmts.prune.run(before).changes;
  }
}
