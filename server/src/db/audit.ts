import type { Database } from './database.js';
import type BetterSqlite3 from 'better-sqlite3';

export type AuditOutcome = 'success' | 'failure';

/** A row as the service hands it over: strings already bounded, details already JSON. */
export interface NewAuditRow {
  actor: string;
  action: string;
  resource?: string | null;
  outcome: AuditOutcome;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  /** JSON text, never secrets. */
  details?: string | null;
}

export interface AuditRow {
  id: number;
  /** Epoch milliseconds. */
  at: number;
  actor: string;
  action: string;
  resource: string | null;
  outcome: AuditOutcome;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: string | null;
  /** How many events the row stands for: 1, or more for an aggregated row. */
  count: number;
  /** The latest event of an aggregated row (epoch ms); null for a single event. */
  lastAt: number | null;
}

export interface AuditQuery {
  actor?: string;
  /** Exact action, or a prefix when it ends with "." ("auth." matches auth.login, auth.logout). */
  action?: string;
  resource?: string;
  outcome?: AuditOutcome;
  /** Inclusive, epoch ms. */
  since?: number;
  /** Exclusive, epoch ms. */
  until?: number;
  /** Clamped to 1..MAX_AUDIT_PAGE. */
  limit: number;
  offset: number;
}

export const MAX_AUDIT_PAGE = 500;

const columns = `id, at, actor, action, resource, outcome, ip, user_agent AS userAgent, request_id AS requestId, details,
  count, last_at AS lastAt`;

/**
 * One condition per filter. An action prefix becomes a range on the column
 * ("auth." → ["auth.", "auth/")), so the (action, at) index still serves it.
 */
const conditions = {
  actor: 'actor = @actor',
  action: 'action = @action',
  actionPrefix: 'action >= @actionFrom AND action < @actionTo',
  resource: 'resource = @resource',
  outcome: 'outcome = @outcome',
  since: 'at >= @since',
  until: 'at < @until',
} as const;
type Condition = keyof typeof conditions;
type Bindings = Record<string, string | number>;

/**
 * All SQL about the audit log. Filtered queries are built from the set of
 * filters present (at most 2^7 shapes) and each shape is prepared once, so
 * SQLite can pick the index that fits instead of scanning past `? IS NULL` tests.
 */
export class AuditRepository {
  private readonly stmts;
  private readonly pages = new Map<string, { items: BetterSqlite3.Statement<[Bindings], AuditRow>; count: BetterSqlite3.Statement<[Bindings], { n: number }> }>();

  constructor(private readonly db: Database) {
    this.stmts = {
      insert: db.prepare<[Bindings]>(
        `INSERT INTO audit_log (at, actor, action, resource, outcome, ip, user_agent, request_id, details)
         VALUES (@at, @actor, @action, @resource, @outcome, @ip, @userAgent, @requestId, @details)`,
      ),
      // One row per key: the first event inserts it, later ones count into it and bump the
      // named counter inside details (a JSON object), so the breakdown survives the aggregation.
      aggregate: db.prepare<[Bindings]>(
        `INSERT INTO audit_log (at, actor, action, resource, outcome, ip, user_agent, request_id, details, count, last_at, aggregate_key)
         VALUES (@at, @actor, @action, @resource, @outcome, @ip, @userAgent, @requestId, json_set(coalesce(@details, '{}'), '$.' || @counter, 1), 1, @at, @key)
         ON CONFLICT (aggregate_key) WHERE aggregate_key IS NOT NULL DO UPDATE SET
           count = count + 1,
           last_at = excluded.last_at,
           user_agent = excluded.user_agent,
           request_id = excluded.request_id,
           details = json_set(coalesce(details, '{}'), '$.' || @counter, coalesce(json_extract(details, '$.' || @counter), 0) + 1)`,
      ),
      prune: db.prepare<[number]>(`DELETE FROM audit_log WHERE at < ?`),
    };
  }

  /**
   * Counts one event into the row named by `key` (creating it on the first),
   * incrementing details[counter]. `counter` must be a plain identifier.
   */
  aggregate(row: NewAuditRow, key: string, counter: string, now: number): void {
    if (!/^[a-z][a-zA-Z0-9]*$/.test(counter)) throw new RangeError(`audit counter ${JSON.stringify(counter)} is not a plain identifier`);
    this.stmts.aggregate.run({ ...rowBindings(row, now), counter, key } as Bindings);
  }

  insert(row: NewAuditRow, now: number): number {
    const info = this.stmts.insert.run(rowBindings(row, now) as Bindings);
    return Number(info.lastInsertRowid);
  }

  /** Newest first. */
  query(q: AuditQuery): { items: AuditRow[]; total: number } {
    const { used, bindings } = bind(q);
    const page = this.page(used);
    const limit = Math.min(Math.max(Math.trunc(q.limit), 1), MAX_AUDIT_PAGE);
    const offset = Math.max(Math.trunc(q.offset), 0);
    return {
      items: page.items.all({ ...bindings, limit, offset }),
      total: page.count.get(bindings)!.n,
    };
  }

  /** Deletes entries older than the cutoff (epoch ms); returns how many. */
  prune(olderThan: number): number {
    return this.stmts.prune.run(olderThan).changes;
  }

  private page(used: Condition[]) {
    const shape = used.join(',');
    let page = this.pages.get(shape);
    if (!page) {
      const where = used.length > 0 ? `WHERE ${used.map((c) => conditions[c]).join(' AND ')}` : '';
      page = {
        items: this.db.prepare<[Bindings], AuditRow>(`SELECT ${columns} FROM audit_log ${where} ORDER BY at DESC, id DESC LIMIT @limit OFFSET @offset`),
        count: this.db.prepare<[Bindings], { n: number }>(`SELECT COUNT(*) AS n FROM audit_log ${where}`),
      };
      this.pages.set(shape, page);
    }
    return page;
  }
}

function bind(q: AuditQuery): { used: Condition[]; bindings: Bindings } {
  const used: Condition[] = [];
  const bindings: Bindings = {};
  const add = (c: Condition, values: Bindings) => {
    used.push(c);
    Object.assign(bindings, values);
  };
  if (q.actor !== undefined) add('actor', { actor: q.actor });
  if (q.action !== undefined && q.action.endsWith('.')) add('actionPrefix', { actionFrom: q.action, actionTo: successor(q.action) });
  else if (q.action !== undefined) add('action', { action: q.action });
  if (q.resource !== undefined) add('resource', { resource: q.resource });
  if (q.outcome !== undefined) add('outcome', { outcome: q.outcome });
  if (q.since !== undefined) add('since', { since: q.since });
  if (q.until !== undefined) add('until', { until: q.until });
  return { used, bindings };
}

/** The smallest string greater than every string starting with prefix (its last character + 1). */
function successor(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** The named parameters of one audit row, absent optional fields as NULL. */
function rowBindings(row: NewAuditRow, now: number) {
  return {
    at: now,
    actor: row.actor,
    action: row.action,
    resource: row.resource ?? null,
    outcome: row.outcome,
    ip: row.ip ?? null,
    userAgent: row.userAgent ?? null,
    requestId: row.requestId ?? null,
    details: row.details ?? null,
  };
}
