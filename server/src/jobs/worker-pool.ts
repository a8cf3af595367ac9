import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { CompletedStatus, JobItem, JobRepository } from '../db/jobs.js';
import { isBusy, whenNotBusy } from '../db/database.js';
import { nextAttemptDelay } from './backoff.js';
import { errorMessage, isRetryable, retryAfterMs } from './retryable.js';

export interface HandlerContext {
  /** Aborted when the pool stops or the lease is lost: stop work, the item will run again. */
  signal: AbortSignal;
  /** Bytes so far and, when known, in all; written to the database with the next heartbeat. */
  progress(bytesDone: number, bytesTotal?: number): void;
}

/** Does one item. Resolves with how it ended; throws to fail the attempt (see retryable.ts). */
export type JobHandler = (item: JobItem, ctx: HandlerContext) => Promise<CompletedStatus>;

/**
 * How an attempt ended from this pool's view: `released` when stop()
 * interrupted it (it stays pending), `lost` when another worker took the item
 * over after our lease ran out (our result is dropped).
 */
export type AttemptOutcome = CompletedStatus | 'retrying' | 'failed' | 'released' | 'lost';

export type PoolEvent =
  | { type: 'started'; item: JobItem }
  | { type: 'progress'; item: JobItem; bytesDone: number; bytesTotal: number }
  | { type: 'finished'; item: JobItem; outcome: AttemptOutcome; error?: string; retryAt?: number }
  /** The pool itself failed to reach the database; it keeps going and leases cover the gap. */
  | { type: 'error'; error: unknown };

export interface WorkerPoolOptions {
  repo: JobRepository;
  handler: JobHandler;
  /** Items in flight at once. */
  concurrency: number;
  /** Unique per process; see defaultOwner(). */
  owner?: string;
  /** How long a claim lasts without a heartbeat. Default 30 s; heartbeats every third of it. */
  leaseMs?: number;
  /** How often to look for work when nothing wakes the pool earlier. Default 1 s. */
  pollMs?: number;
  clock?: () => number;
  /** Delay before the next attempt, from attempts made so far. Default nextAttemptDelay. */
  backoff?: (attempt: number) => number;
  /** Work only on this job's items (the one-shot `load` command beside a running server). */
  jobId?: number;
  onEvent?: (event: PoolEvent) => void;
}

/** hostname:pid:random — distinct across pods, processes and restarts of one pid. */
export function defaultOwner(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * Whether an owner name (see defaultOwner) belongs to a process of this host
 * that is gone: a pid that no longer runs, or our own pid under another
 * random part (a container restarted as pid 1 again). Owners of other hosts,
 * or names of another shape, are never judged: their leases expire instead.
 */
export function ownerIsDead(owner: string, self: string, host = os.hostname(), isRunning: (pid: number) => boolean = pidRuns): boolean {
  if (owner === self || liveOwners.has(owner)) return false;
  const m = /^(.*):(\d+):([0-9a-f]+)$/.exec(owner);
  if (!m || m[1] !== host) return false;
  const pid = Number(m[2]);
  if (pid === process.pid) return true;
  return !isRunning(pid);
}

/** Owners of pools started in this process: the same pid, but alive. */
const liveOwners = new Set<string>();

function pidRuns(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return true; // not ours to judge
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // runs, under another user
  }
}

interface Attempt {
  item: JobItem;
  controller: AbortController;
  heartbeat: NodeJS.Timeout;
  bytesDone: number;
  bytesTotal: number;
  settled: Promise<void>;
}

interface IdleWaiter {
  jobId: number | undefined;
  resolve(idle: boolean): void;
}

/**
 * Runs queued job items with bounded concurrency. Claims are leases renewed
 * by heartbeats, so a crashed process's items come back to the queue on their
 * own; a graceful stop aborts the handlers and hands the items back at once.
 */
export class WorkerPool {
  readonly owner: string;
  private readonly repo: JobRepository;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly clock: () => number;
  private readonly backoff: (attempt: number) => number;
  private readonly inFlight = new Map<number, Attempt>();
  private idleWaiters: IdleWaiter[] = [];
  private state: 'idle' | 'running' | 'stopping' = 'idle';
  private loopDone: Promise<void> = Promise.resolve();
  private wakeLoop: (() => void) | undefined;
  private stopping: Promise<number> = Promise.resolve(0);

  constructor(private readonly options: WorkerPoolOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    this.repo = options.repo;
    this.owner = options.owner ?? defaultOwner();
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 1_000;
    this.clock = options.clock ?? Date.now;
    this.backoff = options.backoff ?? ((attempt) => nextAttemptDelay(attempt));
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Starts claiming work; first returns the items of crashed workers to the queue. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    liveOwners.add(this.owner);
    this.guard(() => this.repo.recoverExpiredLeases(this.clock()));
    this.guard(() => this.repo.recoverLeasesOfDeadOwners((owner) => ownerIsDead(owner, this.owner), this.clock()));
    this.loopDone = this.loop();
  }

  /**
   * Starts the pool if needed and resolves true once the job (or, without one,
   * the whole queue) has nothing pending or running — including items other
   * processes hold. Resolves false if the pool is stopped first. Leaves the pool running.
   */
  runUntilIdle(jobId?: number): Promise<boolean> {
    this.start();
    if (this.state !== 'running') return Promise.resolve(false);
    const done = new Promise<boolean>((resolve) => this.idleWaiters.push({ jobId, resolve }));
    this.wake();
    return done;
  }

  /**
   * Aborts in-flight handlers, waits for them to return, and hands their items
   * back to the queue (pending, attempt refunded). Resolves with how many were handed back.
   */
  stop(): Promise<number> {
    if (this.state === 'running') this.stopping = this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<number> {
    this.state = 'stopping';
    this.wake();
    for (const a of this.inFlight.values()) a.controller.abort(new Error('worker pool stopping'));
    await Promise.all([...this.inFlight.values()].map((a) => a.settled));
    await this.loopDone;
    const released = this.guard(() => this.repo.releaseLeasesOf(this.owner, this.clock())) ?? 0;
    this.state = 'idle';
    liveOwners.delete(this.owner);
    for (const w of this.idleWaiters.splice(0)) w.resolve(false);
    return released;
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      this.fillSlots();
      this.resolveIdleWaiters();
      await this.sleep();
    }
  }

  /** Sleeps for pollMs, or until an attempt settles or stop() is called. */
  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeLoop = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      this.wakeLoop = done;
    });
  }

  private wake(): void {
    this.wakeLoop?.();
  }

  private fillSlots(): void {
    const free = this.options.concurrency - this.inFlight.size;
    if (free <= 0) return;
    const items = this.guard(() => this.repo.claim(this.owner, this.leaseMs, this.clock(), free, this.options.jobId)) ?? [];
    for (const item of items) {
      // Our own lease ran out (event loop stalled past it) and we re-claimed the
      // item: the attempt in flight now holds the new lease; do not run it twice.
      if (!this.inFlight.has(item.id)) this.launch(item);
    }
  }

  private resolveIdleWaiters(): void {
    if (this.idleWaiters.length === 0) return;
    this.idleWaiters = this.idleWaiters.filter((w) => {
      const active = this.guard(() => this.repo.countActive(w.jobId));
      if (active !== 0) return true;
      w.resolve(true);
      return false;
    });
  }

  private launch(item: JobItem): void {
    const controller = new AbortController();
    const attempt: Attempt = {
      item,
      controller,
      heartbeat: setInterval(() => this.beat(attempt), Math.max(1, Math.floor(this.leaseMs / 3))),
      bytesDone: 0,
      bytesTotal: 0,
      settled: Promise.resolve(),
    };
    this.inFlight.set(item.id, attempt);
    this.emit({ type: 'started', item });
    attempt.settled = this.execute(attempt).finally(() => {
      this.leave(attempt);
      this.wake();
    });
  }

  private async execute(a: Attempt): Promise<void> {
    const ctx: HandlerContext = {
      signal: a.controller.signal,
      progress: (bytesDone, bytesTotal) => {
        a.bytesDone = bytesDone;
        if (bytesTotal !== undefined) a.bytesTotal = bytesTotal;
        this.emit({ type: 'progress', item: a.item, bytesDone, bytesTotal: a.bytesTotal });
      },
    };
    let result: { ok: true; outcome: CompletedStatus } | { ok: false; err: unknown };
    try {
      result = { ok: true, outcome: await this.options.handler(a.item, ctx) };
    } catch (err) {
      result = { ok: false, err };
    }
    // Leave before the write that frees the item: a claim running between the
    // two must see a free slot, not mistake the fresh claim for this attempt.
    this.leave(a);
    if (result.ok) await this.settleSuccess(a, result.outcome);
    else await this.settleFailure(a, result.err);
  }

  private leave(a: Attempt): void {
    clearInterval(a.heartbeat);
    if (this.inFlight.get(a.item.id) === a) this.inFlight.delete(a.item.id);
  }

  private async settleSuccess(a: Attempt, outcome: CompletedStatus): Promise<void> {
    const bytes = { done: a.bytesDone, total: a.bytesTotal };
    const kept = await this.settle(() => this.repo.complete(a.item.id, this.owner, outcome, this.clock(), bytes));
    this.emit({ type: 'finished', item: a.item, outcome: kept ? outcome : 'lost' });
  }

  private async settleFailure(a: Attempt, err: unknown): Promise<void> {
    const error = errorMessage(err);
    // Interrupted by stop(): not the item's failure; stop() hands it back.
    if (this.state === 'stopping' && a.controller.signal.aborted) {
      this.emit({ type: 'finished', item: a.item, outcome: 'released', error });
      return;
    }
    const now = this.clock();
    const retryAt = isRetryable(err) ? now + Math.max(this.backoff(a.item.attempts), retryAfterMs(err)) : null;
    // undefined (the write itself failed) is 'lost' too: the unrenewed lease will expire and requeue the item.
    const result = await this.settle(() => this.repo.fail(a.item.id, this.owner, error, retryAt, now));
    if (result === 'retry') this.emit({ type: 'finished', item: a.item, outcome: 'retrying', error, retryAt: retryAt! });
    else this.emit({ type: 'finished', item: a.item, outcome: result === 'failed' ? 'failed' : 'lost', error });
  }

  /**
   * The write that ends an attempt waits out a busy database (another
   * process's long write) off the event loop, for up to a lease: dropping it
   * would leave the finished item to run again once its lease expired.
   */
  private async settle<T>(fn: () => T): Promise<T | undefined> {
    try {
      return await whenNotBusy(fn, { maxWaitMs: this.leaseMs });
    } catch (error) {
      this.emit({ type: 'error', error });
      return undefined;
    }
  }

  /** Renews the lease and saves progress; a lost lease aborts the handler, whose work another worker now owns. */
  private beat(a: Attempt): void {
    const held = this.guard(() =>
      this.repo.heartbeat(a.item.id, this.owner, this.leaseMs, this.clock(), a.bytesDone, a.bytesTotal),
    );
    if (held === false) {
      clearInterval(a.heartbeat);
      a.controller.abort(new Error('lease lost: another worker took over this item'));
    }
  }

  /** Database errors (a lock held past the busy timeout) must not kill the loop: leases make a skipped write safe. */
  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      // Another process holds the write lock: expected, and the next poll or beat simply tries again.
      if (isBusy(error)) return undefined;
      this.emit({ type: 'error', error });
      return undefined;
    }
  }

  private emit(event: PoolEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A failing progress display must not stop the work.
    }
  }
}
