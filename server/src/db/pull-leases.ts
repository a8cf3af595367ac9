import type { Database } from './database.js';

export interface PullLease {
  packageKey: string;
  owner: string;
  acquiredAt: number;
  heartbeatAt: number;
  expiresAt: number;
}

/**
 * Leases on pull-through downloads, so that processes sharing one database
 * download a package once: whoever holds the live lease downloads, the others
 * wait for the package row. Times are ms since epoch, passed in by the caller
 * (an injectable clock), like the job queue's leases.
 *
 * Every write is one IMMEDIATE transaction, so two processes cannot both see
 * "no live lease" and both take it. Callers wrap them in whenNotBusy().
 */
export class PullLeaseRepository {
  private readonly stmts;

  constructor(private readonly db: Database) {
    this.stmts = {
      find: db.prepare<[string], PullLease>(
        `SELECT package_key AS packageKey, owner, acquired_at AS acquiredAt, heartbeat_at AS heartbeatAt, expires_at AS expiresAt
           FROM pull_leases WHERE package_key = ?`,
      ),
      // Taken when absent, expired, or already ours (a retry after a busy error that had in fact committed).
      acquire: db.prepare<{ key: string; owner: string; now: number; expires: number }>(
        `INSERT INTO pull_leases (package_key, owner, acquired_at, heartbeat_at, expires_at) VALUES (@key, @owner, @now, @now, @expires)
         ON CONFLICT (package_key) DO UPDATE
           SET owner = excluded.owner, acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at
         WHERE pull_leases.expires_at <= @now OR pull_leases.owner = @owner`,
      ),
      heartbeat: db.prepare<{ key: string; owner: string; now: number; expires: number }>(
        `UPDATE pull_leases SET heartbeat_at = @now, expires_at = @expires WHERE package_key = @key AND owner = @owner`,
      ),
      release: db.prepare<[string, string]>(`DELETE FROM pull_leases WHERE package_key = ? AND owner = ?`),
    };
  }

  /** Takes the lease unless another owner holds a live one; true when it is now ours. */
  acquire(packageKey: string, owner: string, leaseMs: number, now: number): boolean {
    return this.db
      .transaction(() => this.stmts.acquire.run({ key: packageKey, owner, now, expires: now + leaseMs }).changes > 0)
      .immediate();
  }

  /** Extends our lease; false when it is no longer ours (it expired and another process took it over). */
  heartbeat(packageKey: string, owner: string, leaseMs: number, now: number): boolean {
    return this.stmts.heartbeat.run({ key: packageKey, owner, now, expires: now + leaseMs }).changes > 0;
  }

  /** Gives the lease up (the pull finished either way); a lease taken over by another owner is left alone. */
  release(packageKey: string, owner: string): void {
    this.stmts.release.run(packageKey, owner);
  }

  find(packageKey: string): PullLease | undefined {
    return this.stmts.find.get(packageKey);
  }
}
