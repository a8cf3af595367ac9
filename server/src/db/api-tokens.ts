import type { Database } from './database.js';
import type { UserRole } from './users.js';
import { NotFound } from '../errors.js';

/** An API token as listed: never its hash. Times are epoch ms from the caller's clock. */
export interface ApiTokenRow {
  id: number;
  name: string;
  /** The first characters of the secret after "tfm_", to recognise a token in lists. */
  prefix: string;
  role: UserRole;
  createdBy: number | null;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

const TOUCH_INTERVAL_MS = 60_000;
const MAX_TRACKED = 10_000;

const tokenColumns = `id, name, prefix, role, created_by AS createdBy, created_at AS createdAt, expires_at AS expiresAt,
  last_used_at AS lastUsedAt, revoked_at AS revokedAt`;

/**
 * API tokens for automation. Only the sha256 of a secret is stored and the
 * lookup is by that hash, so the table never holds a usable credential.
 */
export class ApiTokenRepository {
  private readonly stmts;
  /** id → when this process last wrote last_used_at (throttles writes on hot tokens). */
  private readonly touched = new Map<number, number>();

  constructor(db: Database) {
    this.stmts = {
      insert: db.prepare<[string, string, string, string, number | null, number, number | null]>(
        `INSERT INTO api_tokens (name, token_hash, prefix, role, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      byId: db.prepare<[number], ApiTokenRow>(`SELECT ${tokenColumns} FROM api_tokens WHERE id = ?`),
      byHash: db.prepare<[string], ApiTokenRow>(`SELECT ${tokenColumns} FROM api_tokens WHERE token_hash = ?`),
      list: db.prepare<[], ApiTokenRow>(`SELECT ${tokenColumns} FROM api_tokens ORDER BY id`),
      revoke: db.prepare<[number, number]>(`UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`),
      revokeCreatedBy: db.prepare<[number, number]>(`UPDATE api_tokens SET revoked_at = ? WHERE created_by = ? AND revoked_at IS NULL`),
      touch: db.prepare<[number, number, number]>(
        `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`,
      ),
    };
  }

  create(name: string, hash: string, prefix: string, role: UserRole, createdBy: number | null, expiresAt: number | null, now: number): ApiTokenRow {
    const result = this.stmts.insert.run(name, hash, prefix, role, createdBy, now, expiresAt);
    return this.get(Number(result.lastInsertRowid));
  }

  get(id: number): ApiTokenRow {
    const row = this.stmts.byId.get(id);
    if (!row) throw new NotFound(`API token ${id} does not exist`);
    return row;
  }

  findByHash(hash: string): ApiTokenRow | undefined {
    return this.stmts.byHash.get(hash);
  }

  list(): ApiTokenRow[] {
    return this.stmts.list.all();
  }

  /** Revokes a token; revoking it again keeps the first revocation time. A missing id is NotFound. */
  revoke(id: number, now: number): ApiTokenRow {
    this.stmts.revoke.run(now, id);
    this.touched.delete(id);
    return this.get(id);
  }

  /** Revokes every live token a user created (the user is deleted); returns how many. */
  revokeCreatedBy(userId: number, now: number): number {
    return this.stmts.revokeCreatedBy.run(now, userId).changes;
  }

  /** Records use of a token, at most once a minute; returns whether it wrote. */
  touch(id: number, now: number): boolean {
    const last = this.touched.get(id);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return false;
    if (this.touched.size >= MAX_TRACKED) this.touched.clear();
    this.touched.set(id, now);
    return this.stmts.touch.run(now, id, now - TOUCH_INTERVAL_MS).changes > 0;
  }
}
