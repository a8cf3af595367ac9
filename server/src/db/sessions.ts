import type { Database } from './database.js';

/** A login. `id` is the JWT's jti; times are epoch ms from the caller's clock. */
export interface SessionRow {
  id: string;
  userId: number;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  ip: string | null;
  userAgent: string | null;
  lastSeenAt: number | null;
}

/** last_seen_at is a hint for people, not a security record: one write a minute per session is plenty. */
export const TOUCH_INTERVAL_MS = 60_000;
// Bounds the in-memory throttle map; clearing it only costs a few extra writes.
const MAX_TRACKED = 10_000;

const sessionColumns = `id, user_id AS userId, created_at AS createdAt, expires_at AS expiresAt, revoked_at AS revokedAt,
  ip, user_agent AS userAgent, last_seen_at AS lastSeenAt`;

/**
 * Sessions behind session JWTs. Revoking the row revokes the token on its
 * next use, which a stateless JWT alone could not do.
 */
export class SessionRepository {
  private readonly stmts;
  /** jti → when this process last wrote last_seen_at, so most requests write nothing. */
  private readonly touched = new Map<string, number>();

  constructor(db: Database) {
    this.stmts = {
      insert: db.prepare<[string, number, number, number, string, string]>(
        `INSERT INTO sessions (id, user_id, created_at, expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      find: db.prepare<[string], SessionRow>(`SELECT ${sessionColumns} FROM sessions WHERE id = ?`),
      revoke: db.prepare<[number, string]>(`UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`),
      revokeAllOf: db.prepare<[number, number]>(`UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`),
      listOf: db.prepare<[number], SessionRow>(`SELECT ${sessionColumns} FROM sessions WHERE user_id = ? ORDER BY created_at DESC, id`),
      // The condition also holds across processes, which the in-memory map cannot see.
      touch: db.prepare<[number, string, number]>(
        `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at <= ?)`,
      ),
      pruneExpired: db.prepare<[number]>(`DELETE FROM sessions WHERE expires_at < ?`),
    };
  }

  create(jti: string, userId: number, expiresAt: number, ip: string, agent: string, now: number): void {
    this.stmts.insert.run(jti, userId, now, expiresAt, ip, agent);
  }

  find(jti: string): SessionRow | undefined {
    return this.stmts.find.get(jti);
  }

  /** Returns false when there was no such live session (unknown or already revoked). */
  revoke(jti: string, now: number): boolean {
    this.touched.delete(jti);
    return this.stmts.revoke.run(now, jti).changes > 0;
  }

  /** Revokes every live session of a user (password change, account disabled); returns how many. */
  revokeAllOf(userId: number, now: number): number {
    return this.stmts.revokeAllOf.run(now, userId).changes;
  }

  /** All sessions of a user, newest first, including revoked and expired ones until pruned. */
  listOf(userId: number): SessionRow[] {
    return this.stmts.listOf.all(userId);
  }

  /** Records use of a session, at most once per TOUCH_INTERVAL_MS; returns whether it wrote. */
  touch(jti: string, now: number): boolean {
    const last = this.touched.get(jti);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return false;
    if (this.touched.size >= MAX_TRACKED) this.touched.clear();
    this.touched.set(jti, now);
    return this.stmts.touch.run(now, jti, now - TOUCH_INTERVAL_MS).changes > 0;
  }

  /** Deletes sessions that expired before `before` (they can no longer authenticate anything). */
  pruneExpired(before: number): number {
    return this.stmts.pruneExpired.run(before).changes;
  }
}
