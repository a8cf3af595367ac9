import type { AuditQuery, AuditRepository, AuditRow } from '../../db/audit.js';
import type { Logger } from '../../log.js';
import type { AuditEntry } from '../framework/router.js';
import { bounded, encodeDetails } from './details.js';

export const DEFAULT_RETENTION_DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** Refused sign-ins of one username from one address are counted into one entry per this window. */
export const LOGIN_AGGREGATE_WINDOW_MS = 15 * 60 * 1000;

/** Why a sign-in was refused: wrong credentials, the throttle, or no free verification slot. */
export type LoginRefusal = 'invalid' | 'throttled' | 'busy';

export interface AuditLogOptions {
  repo: AuditRepository;
  /** Where failures to record go; recording never throws into the request. */
  logger?: Pick<Logger, 'warn' | 'error'>;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  /** Default LOGIN_AGGREGATE_WINDOW_MS. */
  loginWindowMs?: number;
}

/**
 * The audit sink the admin router calls after every audited route, plus the
 * reads and retention of the log. Inserts are synchronous: one small indexed
 * row, so the entry is durable before the response is sent.
 */
export class AuditLog {
  private readonly repo: AuditRepository;
  private readonly logger: Pick<Logger, 'warn' | 'error'> | undefined;
  private readonly now: () => number;
  private readonly loginWindowMs: number;
  private retention: NodeJS.Timeout | undefined;

  constructor(opts: AuditLogOptions) {
    this.repo = opts.repo;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.loginWindowMs = opts.loginWindowMs ?? LOGIN_AGGREGATE_WINDOW_MS;
  }

  /**
   * Records one entry. A failure (database busy past its timeout, disk full)
   * is logged with the entry and swallowed: the action already happened, and
   * failing its response would tell the caller it did not.
   */
  record = (entry: AuditEntry): void => {
    try {
      this.repo.insert(
        {
          actor: bounded(entry.actor, 256) ?? 'anonymous',
          action: bounded(entry.action, 128) ?? 'unknown',
          resource: bounded(entry.resource, 512),
          outcome: entry.outcome,
          ip: bounded(entry.ip, 64),
          userAgent: bounded(entry.userAgent, 512),
          requestId: bounded(entry.requestId, 128),
          details: encodeDetails(entry.details),
        },
        this.now(),
      );
    } catch (err) {
      this.logger?.error({ err, audit: { actor: entry.actor, action: entry.action, resource: entry.resource, outcome: entry.outcome } }, 'audit entry not recorded');
    }
  };

  /**
   * A refused sign-in, counted into one entry per (username, address,
   * window) so that a guessing run is a few rows carrying counts, not a
   * row per guess that floods the log and the disk. details holds the
   * attempted username and one counter per reason (invalid, throttled, busy).
   */
  recordLoginRefusal = (entry: AuditEntry, username: string, reason: LoginRefusal): void => {
    const now = this.now();
    const name = bounded(username, 128) ?? '';
    const ip = bounded(entry.ip, 64);
    const window = Math.floor(now / this.loginWindowMs);
    // JSON keeps the parts apart whatever characters they hold.
    const key = JSON.stringify([entry.action, name.toLowerCase(), ip, window]);
    try {
      this.repo.aggregate(
        {
          actor: bounded(entry.actor, 256) ?? 'anonymous',
          action: bounded(entry.action, 128) ?? 'unknown',
          resource: bounded(entry.resource, 512),
          outcome: 'failure',
          ip,
          userAgent: bounded(entry.userAgent, 512),
          requestId: bounded(entry.requestId, 128),
          details: encodeDetails({ username: name }),
        },
        key,
        reason,
        now,
      );
    } catch (err) {
      this.logger?.error({ err, audit: { actor: entry.actor, action: entry.action, outcome: 'failure' } }, 'audit entry not recorded');
    }
  };

  query(q: AuditQuery): { items: AuditRow[]; total: number } {
    return this.repo.query(q);
  }

  /** Deletes entries older than `days` before now; returns how many. */
  prune(days: number, now = this.now()): number {
    return this.repo.prune(now - days * DAY_MS);
  }

  /**
   * Prunes now and then hourly. Only the process that owns the database
   * (`serve`) should call this. A failed prune is logged and retried at the next tick.
   */
  startRetention(days = DEFAULT_RETENTION_DAYS, clock: () => number = this.now, everyMs = PRUNE_EVERY_MS): void {
    if (!(days > 0)) throw new RangeError(`audit retention must be a positive number of days, got ${days}`);
    this.stopRetention();
    const tick = () => {
      try {
        this.prune(days, clock());
      } catch (err) {
        this.logger?.warn({ err }, 'audit retention: prune failed');
      }
    };
    tick();
    this.retention = setInterval(tick, everyMs).unref();
  }

  stopRetention(): void {
    clearInterval(this.retention);
    this.retention = undefined;
  }
}
