import type { Database } from './database.js';
import { InvalidInput, NotFound } from '../errors.js';

export type JobKind = 'load';
export type JobStatus = 'pending' | 'running' | 'succeeded' | 'failed';
export type JobItemStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';
export type CompletedStatus = 'succeeded' | 'skipped';
/** What fail() did: queued another attempt, gave up, or found the lease already lost. */
export type FailOutcome = 'retry' | 'failed' | 'lost';

/** One unit of work: a provider package for one platform. */
export interface JobItemKey {
  /** hostname/namespace/type */
  source: string;
  version: string;
  /** os_arch */
  platform: string;
  /** Hashes a lock file pins (h1:/zh:); the fetched package must match one of them. */
  hashes?: string[];
}

export interface NewJob {
  kind: JobKind;
  requestedBy: string;
  /** What was asked, stored as JSON for display and re-planning. */
  spec: unknown;
  items: JobItemKey[];
  maxAttempts: number;
  /** Who the loaded packages are recorded as brought by (formatHolder's text); default "loaded". */
  holder?: string;
}

/** All timestamps are milliseconds since the epoch, from the caller's clock. */
export interface JobItem extends JobItemKey {
  id: number;
  jobId: number;
  status: JobItemStatus;
  attempts: number;
  maxAttempts: number;
  nextAttemptAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  error: string | null;
  bytesDone: number;
  bytesTotal: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** The item's `hashes`, space-separated; null when nothing is pinned. */
  expectedHashes: string | null;
}

export interface JobProgress {
  total: number;
  pending: number;
  /** Pending items that already ran at least once (waiting for their backoff). */
  retrying: number;
  running: number;
  succeeded: number;
  skipped: number;
  failed: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface JobSummary {
  id: number;
  kind: JobKind;
  status: JobStatus;
  requestedBy: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  progress: JobProgress;
}

export interface Job extends JobSummary {
  spec: unknown;
  items: JobItem[];
}

export interface ListJobsQuery {
  status?: JobStatus;
  limit: number;
  offset: number;
}

/**
 * A job's status follows from its items, so that no code path can leave the
 * two disagreeing. A pending item that already ran (waiting out its backoff)
 * counts as work in progress: the job has started and is not done.
 */
export function deriveJobStatus(p: Pick<JobProgress, 'total' | 'pending' | 'retrying' | 'running' | 'failed'>): JobStatus {
  const done = p.total - p.pending - p.running;
  if (p.running > 0 || p.retrying > 0 || (done > 0 && p.pending > 0)) return 'running';
  if (p.pending > 0) return 'pending';
  return p.failed > 0 ? 'failed' : 'succeeded';
}

const itemColumns = `id, job_id AS jobId, source, version, platform, status, attempts, max_attempts AS maxAttempts,
  next_attempt_at AS nextAttemptAt, lease_owner AS leaseOwner, lease_expires_at AS leaseExpiresAt, error,
  bytes_done AS bytesDone, bytes_total AS bytesTotal, started_at AS startedAt, finished_at AS finishedAt, expected_hashes AS expectedHashes`;

const progressColumns = `COUNT(i.id) AS total,
  COALESCE(SUM(i.status = 'pending'), 0) AS pending,
  COALESCE(SUM(i.status = 'pending' AND i.attempts > 0), 0) AS retrying,
  COALESCE(SUM(i.status = 'running'), 0) AS running,
  COALESCE(SUM(i.status = 'succeeded'), 0) AS succeeded,
  COALESCE(SUM(i.status = 'skipped'), 0) AS skipped,
  COALESCE(SUM(i.status = 'failed'), 0) AS failed,
  COALESCE(SUM(i.bytes_done), 0) AS bytesDone,
  COALESCE(SUM(i.bytes_total), 0) AS bytesTotal`;

const summaryColumns = `j.id, j.kind, j.status, j.requested_by AS requestedBy, j.created_at AS createdAt,
  j.started_at AS startedAt, j.finished_at AS finishedAt`;

type SummaryRow = Omit<JobSummary, 'progress'> & JobProgress;
type JobRow = SummaryRow & { spec: string };

const LEASE_EXPIRED = 'the worker holding this item stopped renewing its lease (crashed or stalled)';
const OWNER_DIED = 'the process working on this item died (killed or crashed) before it finished';

/**
 * The job queue. Every item transition and the job status it implies are
 * written in one IMMEDIATE transaction: the write lock is taken up front, so
 * two processes claiming at once serialize instead of both reading the same
 * pending rows (a DEFERRED read-then-write could also fail with SQLITE_BUSY).
 * Items are owned through leases; a write carrying a lost lease changes nothing.
 */
export class JobRepository {
  private readonly stmts;

  constructor(private readonly db: Database) {
    this.stmts = {
      insertJob: db.prepare<[string, string, string, number, string], unknown>(
        `INSERT INTO jobs (kind, requested_by, spec, created_at, holder) VALUES (?, ?, ?, ?, ?)`,
      ),
      holderOf: db.prepare<[number], { holder: string }>(`SELECT holder FROM jobs WHERE id = ?`),
      insertItem: db.prepare<[number, string, string, string, number, number, string | null]>(
        `INSERT INTO job_items (job_id, source, version, platform, max_attempts, next_attempt_at, expected_hashes)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      job: db.prepare<[number], JobRow>(
        `SELECT ${summaryColumns}, j.spec, ${progressColumns}
           FROM jobs j LEFT JOIN job_items i ON i.job_id = j.id WHERE j.id = ? GROUP BY j.id`,
      ),
      itemsOfJob: db.prepare<[number], JobItem>(`SELECT ${itemColumns} FROM job_items WHERE job_id = ? ORDER BY id`),
      item: db.prepare<[number], JobItem>(`SELECT ${itemColumns} FROM job_items WHERE id = ?`),
      listJobs: db.prepare<{ status: string | null; limit: number; offset: number }, SummaryRow>(
        `SELECT ${summaryColumns}, ${progressColumns}
           FROM jobs j LEFT JOIN job_items i ON i.job_id = j.id
          WHERE @status IS NULL OR j.status = @status
          GROUP BY j.id ORDER BY j.id DESC LIMIT @limit OFFSET @offset`,
      ),
      countJobs: db.prepare<{ status: string | null }, { n: number }>(
        `SELECT COUNT(*) AS n FROM jobs WHERE @status IS NULL OR status = @status`,
      ),
      progress: db.prepare<[number], JobProgress>(`SELECT ${progressColumns} FROM job_items i WHERE i.job_id = ?`),
      setJobStatus: db.prepare<{ id: number; status: JobStatus; now: number }>(
        `UPDATE jobs SET status = @status,
           started_at = CASE WHEN @status = 'pending' THEN started_at ELSE COALESCE(started_at, @now) END,
           finished_at = CASE WHEN @status IN ('succeeded', 'failed') THEN COALESCE(finished_at, @now) ELSE NULL END
         WHERE id = @id`,
      ),
      claim: db.prepare<{ owner: string; now: number; expires: number; limit: number; jobId: number | null }, JobItem>(
        `UPDATE job_items
            SET status = 'running', lease_owner = @owner, lease_expires_at = @expires, attempts = attempts + 1,
                bytes_done = 0, started_at = COALESCE(started_at, @now), finished_at = NULL
          WHERE id IN (SELECT id FROM job_items
                        WHERE status = 'pending' AND next_attempt_at <= @now AND (@jobId IS NULL OR job_id = @jobId)
                        ORDER BY next_attempt_at, id LIMIT @limit)
          RETURNING ${itemColumns}`,
      ),
      hasDueWork: db.prepare<{ now: number }, unknown>(
        `SELECT 1 FROM job_items
          WHERE (status = 'pending' AND next_attempt_at <= @now) OR (status = 'running' AND lease_expires_at <= @now)
          LIMIT 1`,
      ),
      recoverExpired: db.prepare<{ now: number; error: string }, { jobId: number }>(
        `UPDATE job_items
            SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
                finished_at = CASE WHEN attempts >= max_attempts THEN @now ELSE NULL END,
                next_attempt_at = @now, error = @error, lease_owner = NULL, lease_expires_at = NULL
          WHERE status = 'running' AND lease_expires_at <= @now
          RETURNING job_id AS jobId`,
      ),
      runningOwners: db.prepare<[], { owner: string }>(
        `SELECT DISTINCT lease_owner AS owner FROM job_items WHERE status = 'running' AND lease_owner IS NOT NULL`,
      ),
      // Same rule as an expired lease: a crash counts as an attempt, so an item that kills its worker fails in the end.
      recoverOwner: db.prepare<{ owner: string; now: number; error: string }, { jobId: number }>(
        `UPDATE job_items
            SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
                finished_at = CASE WHEN attempts >= max_attempts THEN @now ELSE NULL END,
                next_attempt_at = @now, error = @error, lease_owner = NULL, lease_expires_at = NULL
          WHERE status = 'running' AND lease_owner = @owner
          RETURNING job_id AS jobId`,
      ),
      // A graceful stop interrupted the attempt; it was not the item's fault, so it is refunded.
      releaseOwner: db.prepare<[string], { jobId: number }>(
        `UPDATE job_items
            SET status = 'pending', attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL
          WHERE status = 'running' AND lease_owner = ?
          RETURNING job_id AS jobId`,
      ),
      heartbeat: db.prepare<{ id: number; owner: string; expires: number; bytesDone: number | null; bytesTotal: number | null }>(
        `UPDATE job_items
            SET lease_expires_at = @expires, bytes_done = COALESCE(@bytesDone, bytes_done),
                bytes_total = COALESCE(@bytesTotal, bytes_total)
          WHERE id = @id AND status = 'running' AND lease_owner = @owner`,
      ),
      complete: db.prepare<
        { id: number; owner: string; status: CompletedStatus; now: number; bytesDone: number | null; bytesTotal: number | null },
        { jobId: number }
      >(
        `UPDATE job_items
            SET status = @status, error = NULL, lease_owner = NULL, lease_expires_at = NULL, finished_at = @now,
                bytes_done = COALESCE(@bytesDone, bytes_done), bytes_total = COALESCE(@bytesTotal, bytes_total)
          WHERE id = @id AND status = 'running' AND lease_owner = @owner
          RETURNING job_id AS jobId`,
      ),
      fail: db.prepare<
        { id: number; owner: string; error: string; retryAt: number | null; now: number },
        { jobId: number; status: JobItemStatus }
      >(
        `UPDATE job_items
            SET status = CASE WHEN @retryAt IS NOT NULL AND attempts < max_attempts THEN 'pending' ELSE 'failed' END,
                next_attempt_at = CASE WHEN @retryAt IS NOT NULL AND attempts < max_attempts THEN @retryAt ELSE next_attempt_at END,
                finished_at = CASE WHEN @retryAt IS NOT NULL AND attempts < max_attempts THEN NULL ELSE @now END,
                error = @error, lease_owner = NULL, lease_expires_at = NULL
          WHERE id = @id AND status = 'running' AND lease_owner = @owner
          RETURNING job_id AS jobId, status`,
      ),
      retryFailed: db.prepare<[number, number]>(
        `UPDATE job_items
            SET status = 'pending', attempts = 0, error = NULL, next_attempt_at = ?, finished_at = NULL, bytes_done = 0
          WHERE job_id = ? AND status = 'failed'`,
      ),
      countActive: db.prepare<{ jobId: number | null }, { n: number }>(
        `SELECT COUNT(*) AS n FROM job_items
          WHERE status IN ('pending', 'running') AND (@jobId IS NULL OR job_id = @jobId)`,
      ),
    };
  }

  /** Creates a job and its items; repeated items collapse into one. */
  createJob(job: NewJob, now: number): number {
    if (!Number.isInteger(job.maxAttempts) || job.maxAttempts < 1) {
      throw new InvalidInput(`max attempts must be a positive integer, got ${job.maxAttempts}`, { key: 'max_attempts' });
    }
    return this.db.transaction(() => {
      const info = this.stmts.insertJob.run(job.kind, job.requestedBy, JSON.stringify(job.spec ?? {}), now, job.holder ?? 'loaded');
      const jobId = Number(info.lastInsertRowid);
      for (const i of job.items) {
        const hashes = i.hashes && i.hashes.length > 0 ? i.hashes.join(' ') : null;
        this.stmts.insertItem.run(jobId, i.source, i.version, i.platform, job.maxAttempts, now, hashes);
      }
      // An empty job is already done; deriving keeps that rule in one place.
      this.refreshJob(jobId, now);
      return jobId;
    }).immediate();
  }

  getJob(id: number): Job {
    const row = this.stmts.job.get(id);
    if (!row) throw new NotFound(`job ${id} does not exist`);
    const { spec, ...summary } = row;
    return { ...toSummary(summary), spec: JSON.parse(spec) as unknown, items: this.stmts.itemsOfJob.all(id) };
  }

  /** Who the job's packages are brought by (see NewJob.holder). */
  holderOf(jobId: number): string {
    const row = this.stmts.holderOf.get(jobId);
    if (!row) throw new NotFound(`job ${jobId} does not exist`);
    return row.holder;
  }

  getItem(id: number): JobItem {
    const row = this.stmts.item.get(id);
    if (!row) throw new NotFound(`job item ${id} does not exist`);
    return row;
  }

  /** Newest first, with progress totals; `total` counts every match for paging. */
  listJobs(q: ListJobsQuery): { jobs: JobSummary[]; total: number } {
    const status = q.status ?? null;
    const rows = this.stmts.listJobs.all({ status, limit: q.limit, offset: q.offset });
    return { jobs: rows.map(toSummary), total: this.stmts.countJobs.get({ status })!.n };
  }

  /** Items of the job (or of all jobs) still pending or running: zero means idle. */
  countActive(jobId?: number): number {
    return this.stmts.countActive.get({ jobId: jobId ?? null })!.n;
  }

  /**
   * Leases up to `limit` items whose time has come, oldest first, after
   * returning items of crashed workers to the queue. `jobId` restricts claims
   * to one job (the one-shot `load` command works only on its own job).
   */
  claim(owner: string, leaseMs: number, now: number, limit: number, jobId?: number): JobItem[] {
    // Idle polls must not take the write lock a running server needs: look first, outside a transaction.
    if (limit <= 0 || !this.stmts.hasDueWork.get({ now })) return [];
    return this.db.transaction(() => {
      this.recoverExpired(now);
      const items = this.stmts.claim.all({ owner, now, expires: now + leaseMs, limit, jobId: jobId ?? null });
      this.refreshJobs(items, now);
      return items.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id);
    }).immediate();
  }

  /**
   * Items whose lease ran out return to pending (or fail, once their attempts
   * are spent: an item that crashes its worker every time must not loop
   * forever). Returns how many were recovered.
   */
  recoverExpiredLeases(now: number): number {
    return this.db.transaction(() => this.recoverExpired(now)).immediate();
  }

  /**
   * Items held by owners the caller knows to be dead (a process of this host
   * that no longer runs) go back to the queue at once instead of when their
   * lease runs out: a restart after a crash resumes without waiting a lease.
   */
  recoverLeasesOfDeadOwners(isDead: (owner: string) => boolean, now: number): number {
    const dead = this.stmts.runningOwners.all().map((r) => r.owner).filter((owner) => isDead(owner));
    if (dead.length === 0) return 0;
    return this.db.transaction(() => {
      const rows = dead.flatMap((owner) => this.stmts.recoverOwner.all({ owner, now, error: OWNER_DIED }));
      this.refreshJobs(rows, now);
      return rows.length;
    }).immediate();
  }

  /** Returns every item `owner` holds to pending, refunding the interrupted attempt. */
  releaseLeasesOf(owner: string, now: number): number {
    return this.db.transaction(() => {
      const rows = this.stmts.releaseOwner.all(owner);
      this.refreshJobs(rows, now);
      return rows.length;
    }).immediate();
  }

  /** Extends the lease and records progress; false when the lease was lost (stop working on it). */
  heartbeat(itemId: number, owner: string, leaseMs: number, now: number, bytesDone?: number, bytesTotal?: number): boolean {
    const info = this.stmts.heartbeat.run({
      id: itemId,
      owner,
      expires: now + leaseMs,
      bytesDone: bytesDone ?? null,
      bytesTotal: bytesTotal ?? null,
    });
    return info.changes === 1;
  }

  /** Marks a held item done; false when the lease was lost (another worker owns the item now). */
  complete(itemId: number, owner: string, status: CompletedStatus, now: number, bytes?: { done: number; total: number }): boolean {
    return this.db.transaction(() => {
      const rows = this.stmts.complete.all({
        id: itemId,
        owner,
        status,
        now,
        bytesDone: bytes?.done ?? null,
        bytesTotal: bytes?.total ?? null,
      });
      this.refreshJobs(rows, now);
      return rows.length === 1;
    }).immediate();
  }

  /**
   * Records a failed attempt. With `retryAt` and attempts left the item waits
   * until then; with `retryAt` null (the error will not fix itself) or no
   * attempts left it fails with `error` as its message.
   */
  fail(itemId: number, owner: string, error: string, retryAt: number | null, now: number): FailOutcome {
    return this.db.transaction((): FailOutcome => {
      const rows = this.stmts.fail.all({ id: itemId, owner, error, retryAt, now });
      this.refreshJobs(rows, now);
      const row = rows[0];
      if (!row) return 'lost';
      return row.status === 'pending' ? 'retry' : 'failed';
    }).immediate();
  }

  /** Failed items of the job get a fresh set of attempts; returns how many. */
  retryFailed(jobId: number, now: number): number {
    return this.db.transaction(() => {
      if (!this.stmts.job.get(jobId)) throw new NotFound(`job ${jobId} does not exist`);
      const n = this.stmts.retryFailed.run(now, jobId).changes;
      if (n > 0) this.refreshJob(jobId, now);
      return n;
    }).immediate();
  }

  private recoverExpired(now: number): number {
    const rows = this.stmts.recoverExpired.all({ now, error: LEASE_EXPIRED });
    this.refreshJobs(rows, now);
    return rows.length;
  }

  private refreshJobs(rows: { jobId: number }[], now: number): void {
    for (const jobId of new Set(rows.map((r) => r.jobId))) this.refreshJob(jobId, now);
  }

  private refreshJob(jobId: number, now: number): void {
    const progress = this.stmts.progress.get(jobId)!;
    this.stmts.setJobStatus.run({ id: jobId, status: deriveJobStatus(progress), now });
  }
}

function toSummary(row: SummaryRow): JobSummary {
  const { id, kind, status, requestedBy, createdAt, startedAt, finishedAt, ...progress } = row;
  return { id, kind, status, requestedBy, createdAt, startedAt, finishedAt, progress };
}
