import type { Database } from './database.js';
import type { JobItemStatus, JobStatus } from './jobs.js';

export const JOB_STATUSES: readonly JobStatus[] = ['pending', 'running', 'succeeded', 'failed'];
export const JOB_ITEM_STATUSES: readonly JobItemStatus[] = ['pending', 'running', 'succeeded', 'failed', 'skipped'];

export interface JobCounts {
  jobs: Record<JobStatus, number>;
  items: Record<JobItemStatus, number>;
}

/**
 * Queue totals by status, for the metrics scrape. Both counts read the status
 * indexes (jobs_status, job_items_claim) without touching the rows.
 */
export class JobStatsRepository {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      jobs: db.prepare<[], { status: JobStatus; n: number }>(`SELECT status, COUNT(*) AS n FROM jobs GROUP BY status`),
      items: db.prepare<[], { status: JobItemStatus; n: number }>(`SELECT status, COUNT(*) AS n FROM job_items GROUP BY status`),
      // The claim index (status, next_attempt_at) answers this with one seek.
      oldestDue: db.prepare<[number], { at: number | null }>(
        `SELECT MIN(next_attempt_at) AS at FROM job_items WHERE status = 'pending' AND next_attempt_at <= ?`,
      ),
    };
  }

  /** Every status is present, zero when no row has it, so a series never vanishes. */
  counts(): JobCounts {
    return {
      jobs: tally(JOB_STATUSES, this.stmts.jobs.all()),
      items: tally(JOB_ITEM_STATUSES, this.stmts.items.all()),
    };
  }

  /** Epoch ms the longest-waiting due pending item became due (null: none due), for the "queue stuck" signal. */
  oldestDuePendingAt(now: number): number | null {
    return this.stmts.oldestDue.get(now)?.at ?? null;
  }
}

function tally<S extends string>(statuses: readonly S[], rows: { status: S; n: number }[]): Record<S, number> {
  const out = Object.fromEntries(statuses.map((s) => [s, 0])) as Record<S, number>;
  for (const r of rows) out[r.status] = r.n;
  return out;
}
