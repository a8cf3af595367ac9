import type { Database } from './database.js';

/** How many failures matched, and when the latest was (0 / null when none). */
export interface FailureCount {
  count: number;
  last: number | null;
}

/**
 * Failed logins, kept for throttling: one row per failure that got as far as
 * a password check (throttled attempts are refused before and not recorded).
 * Usernames compare case-insensitively, like the users table.
 */
export class LoginFailureRepository {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      insert: db.prepare<[string, string, number]>(`INSERT INTO login_failures (username, ip, at) VALUES (?, ?, ?)`),
      byPair: db.prepare<[string, string, number], FailureCount>(
        `SELECT COUNT(*) AS count, MAX(at) AS last FROM login_failures WHERE username = ? AND ip = ? AND at >= ?`,
      ),
      byUsername: db.prepare<[string, number], FailureCount>(
        `SELECT COUNT(*) AS count, MAX(at) AS last FROM login_failures WHERE username = ? AND at >= ?`,
      ),
      byIp: db.prepare<[string, number], FailureCount>(
        `SELECT COUNT(*) AS count, MAX(at) AS last FROM login_failures WHERE ip = ? AND at >= ?`,
      ),
      clearPair: db.prepare<[string, string]>(`DELETE FROM login_failures WHERE username = ? AND ip = ?`),
      prune: db.prepare<[number]>(`DELETE FROM login_failures WHERE at < ?`),
    };
  }

  record(username: string, ip: string, at: number): void {
    this.stmts.insert.run(username, ip, at);
  }

  countForPair(username: string, ip: string, since: number): FailureCount {
    return this.stmts.byPair.get(username, ip, since)!;
  }

  countForUsername(username: string, since: number): FailureCount {
    return this.stmts.byUsername.get(username, since)!;
  }

  countForIp(ip: string, since: number): FailureCount {
    return this.stmts.byIp.get(ip, since)!;
  }

  /** Forgets the failures of one username from one address (after a correct password from there). */
  clearPair(username: string, ip: string): void {
    this.stmts.clearPair.run(username, ip);
  }

  /** Deletes failures older than `before`; returns how many. */
  prune(before: number): number {
    return this.stmts.prune.run(before).changes;
  }
}
