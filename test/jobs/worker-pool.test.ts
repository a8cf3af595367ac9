import { setTimeout as delay } from 'node:timers/promises';
import test from 'ava';
import { IntegrityError, InvalidInput, Unavailable } from '../../server/src/errors.js';
import type { JobItem } from '../../server/src/db/jobs.js';
import { WorkerPool, type JobHandler, type PoolEvent, type WorkerPoolOptions } from '../../server/src/jobs/worker-pool.js';
import { items, loadJob, manualClock, memoryRepository } from '../db/job-fixtures.js';

function pool(options: Partial<WorkerPoolOptions> & Pick<WorkerPoolOptions, 'repo' | 'handler'>): WorkerPool {
  return new WorkerPool({ owner: 'test-worker', concurrency: 2, pollMs: 5, backoff: () => 1, ...options });
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await delay(2);
  }
}

/** A handler that waits until aborted, then rejects as a well-behaved handler does. */
const waitForAbort: JobHandler = (_item, ctx) =>
  new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true }));

test('the pool runs at most `concurrency` items at once and runUntilIdle resolves when the job is done', async (t) => {
  const { repo } = memoryRepository();
  const jobId = repo.createJob(loadJob(items(10)), Date.now());
  let inFlight = 0;
  let maxInFlight = 0;
  const p = pool({
    repo,
    concurrency: 3,
    handler: async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await delay(15);
      inFlight--;
      return 'succeeded';
    },
  });
  t.true(await p.runUntilIdle(jobId));
  await p.stop();
  t.is(maxInFlight, 3);
  t.like(repo.getJob(jobId), { status: 'succeeded', progress: { succeeded: 10 } });
});

test('a retryable error is retried with backoff until the item succeeds', async (t) => {
  const { repo } = memoryRepository();
  const jobId = repo.createJob(loadJob(items(1), 5), Date.now());
  const backoffAsked: number[] = [];
  const events: PoolEvent[] = [];
  const p = pool({
    repo,
    backoff: (attempt) => (backoffAsked.push(attempt), 1),
    onEvent: (e) => events.push(e),
    handler: async (item) => {
      if (item.attempts < 3) throw new Unavailable(`upstream 503 on attempt ${item.attempts}`);
      return 'succeeded';
    },
  });
  await p.runUntilIdle(jobId);
  await p.stop();
  t.deepEqual(backoffAsked, [1, 2]);
  t.deepEqual(
    events.flatMap((e) => (e.type === 'finished' ? [e.outcome] : [])),
    ['retrying', 'retrying', 'succeeded'],
  );
  t.like(repo.getJob(jobId).items[0], { status: 'succeeded', attempts: 3, error: null });
});

test('an error that persists fails the item after max attempts with its message', async (t) => {
  const { repo } = memoryRepository();
  const jobId = repo.createJob(loadJob(items(1), 3), Date.now());
  const p = pool({ repo, handler: async () => Promise.reject(new Unavailable('registry.terraform.io: connection reset')) });
  await p.runUntilIdle(jobId);
  await p.stop();
  const job = repo.getJob(jobId);
  t.is(job.status, 'failed');
  t.like(job.items[0], { status: 'failed', attempts: 3, error: 'registry.terraform.io: connection reset' });
});

const permanentErrors: { name: string; error: Error }[] = [
  { name: 'a bad signature (IntegrityError)', error: new IntegrityError('SHA256SUMS signature does not verify') },
  { name: 'invalid input', error: new InvalidInput('unknown platform plan9_amd64') },
  { name: 'an error marked retryable = false', error: Object.assign(new Error('403 from upstream'), { retryable: false }) },
];

for (const c of permanentErrors) {
  test(`${c.name} fails the item at the first attempt`, async (t) => {
    const { repo } = memoryRepository();
    const jobId = repo.createJob(loadJob(items(1), 5), Date.now());
    const p = pool({ repo, handler: async () => Promise.reject(c.error) });
    await p.runUntilIdle(jobId);
    await p.stop();
    t.like(repo.getJob(jobId).items[0], { status: 'failed', attempts: 1, error: c.error.message });
  });
}

test('a Retry-After carried by the error delays the retry at least that long', async (t) => {
  const { repo } = memoryRepository();
  const clock = manualClock();
  const jobId = repo.createJob(loadJob(items(1), 5), clock.now());
  const p = pool({
    repo,
    clock: clock.now,
    backoff: () => 1_000,
    handler: async () => Promise.reject(Object.assign(new Unavailable('429 Too Many Requests'), { retryAfterMs: 60_000 })),
  });
  p.start();
  await until(() => repo.getJob(jobId).progress.retrying === 1);
  await p.stop();
  t.is(repo.getJob(jobId).items[0]!.nextAttemptAt, clock.now() + 60_000);
});

test('stop() aborts running handlers and leaves their items pending for the next run', async (t) => {
  const { repo } = memoryRepository();
  const jobId = repo.createJob(loadJob(items(4)), Date.now());
  const aborted: number[] = [];
  const first = pool({
    repo,
    concurrency: 2,
    handler: (item, ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.push(item.id));
      return waitForAbort(item, ctx);
    },
  });
  first.start();
  await until(() => repo.getJob(jobId).progress.running === 2);
  t.deepEqual(await Promise.all([first.stop(), first.stop()]), [2, 2], 'a second stop() waits for the same shutdown');
  t.is(aborted.length, 2);
  const after = repo.getJob(jobId);
  t.is(after.status, 'pending');
  t.deepEqual(after.items.map((i) => [i.status, i.attempts, i.leaseOwner]), Array(4).fill(['pending', 0, null]));

  const second = pool({ repo, owner: 'next-run', handler: async () => 'succeeded' });
  t.true(await second.runUntilIdle(jobId));
  await second.stop();
  t.like(repo.getJob(jobId), { status: 'succeeded', progress: { succeeded: 4 } });
});

test('runUntilIdle resolves false when the pool is stopped first', async (t) => {
  const { repo } = memoryRepository();
  const jobId = repo.createJob(loadJob(items(1)), Date.now());
  const p = pool({ repo, handler: waitForAbort });
  const idle = p.runUntilIdle(jobId);
  await until(() => repo.getJob(jobId).progress.running === 1);
  await p.stop();
  t.false(await idle);
});

test('progress reported by the handler is saved in bytes with heartbeats and on completion', async (t) => {
  const { repo } = memoryRepository();
  const jobId = repo.createJob(loadJob(items(1)), Date.now());
  const progressEvents: [number, number][] = [];
  const p = pool({
    repo,
    leaseMs: 90,
    onEvent: (e) => void (e.type === 'progress' && progressEvents.push([e.bytesDone, e.bytesTotal])),
    handler: async (_item, ctx) => {
      ctx.progress(400, 1_000);
      await until(() => repo.getJob(jobId).progress.bytesDone === 400);
      ctx.progress(1_000);
      return 'succeeded';
    },
  });
  await p.runUntilIdle(jobId);
  await p.stop();
  t.deepEqual(progressEvents, [[400, 1_000], [1_000, 1_000]]);
  t.like(repo.getJob(jobId).items[0], { bytesDone: 1_000, bytesTotal: 1_000 });
  t.like(repo.getJob(jobId).progress, { bytesDone: 1_000, bytesTotal: 1_000 });
});

test('a pool whose lease was taken over aborts the handler and drops its result', async (t) => {
  const { repo } = memoryRepository();
  const clock = manualClock();
  const jobId = repo.createJob(loadJob(items(1)), clock.now());
  const events: PoolEvent[] = [];
  let signal: AbortSignal | undefined;
  const p = pool({
    repo,
    clock: clock.now,
    leaseMs: 30,
    onEvent: (e) => events.push(e),
    handler: (item, ctx) => ((signal = ctx.signal), waitForAbort(item, ctx)),
  });
  p.start();
  await until(() => signal !== undefined);
  // The process stalls past its lease and another worker recovers and claims the item.
  clock.advance(1_000);
  const [taken] = repo.claim('other-worker', 60_000, clock.now(), 1);
  await until(() => events.some((e) => e.type === 'finished'));
  await p.stop();
  t.true(signal!.aborted);
  t.like(events.find((e) => e.type === 'finished'), { outcome: 'lost' });
  t.like(repo.getItem(taken!.id), { status: 'running', leaseOwner: 'other-worker', attempts: 2 });
});

test('a pool bound to one job leaves the other jobs queued', async (t) => {
  const { repo } = memoryRepository();
  const other = repo.createJob(loadJob(items(2)), Date.now());
  const mine = repo.createJob(loadJob(items(2)), Date.now());
  const seen: JobItem[] = [];
  const p = pool({ repo, jobId: mine, handler: async (item) => (seen.push(item), 'skipped') });
  await p.runUntilIdle(mine);
  await p.stop();
  t.deepEqual([...new Set(seen.map((i) => i.jobId))], [mine]);
  t.like(repo.getJob(mine), { status: 'succeeded', progress: { skipped: 2 } });
  t.is(repo.getJob(other).status, 'pending');
});

test('on start the pool picks up items a crashed worker left running', async (t) => {
  const { repo } = memoryRepository();
  const clock = manualClock();
  const jobId = repo.createJob(loadJob(items(2)), clock.now());
  repo.claim('crashed-worker', 30_000, clock.now(), 2);
  clock.advance(30_000);
  const p = pool({ repo, clock: clock.now, handler: async () => 'succeeded' });
  t.true(await p.runUntilIdle(jobId));
  await p.stop();
  t.deepEqual(repo.getJob(jobId).items.map((i) => [i.status, i.attempts]), [['succeeded', 2], ['succeeded', 2]]);
});

/** The pid of a process that has exited: what a kill -9 leaves in the lease owner. */
async function deadPid(): Promise<number> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

test('on start the pool at once picks up items a killed process of this host left running, before their lease expires', async (t) => {
  const { repo } = memoryRepository();
  const clock = manualClock();
  const jobId = repo.createJob(loadJob(items(3)), clock.now());
  const os = await import('node:os');
  const killed = `${os.hostname()}:${await deadPid()}:0badc0de`;
  const otherHost = `elsewhere.example:${process.pid}:0badc0de`;
  repo.claim(killed, 30_000, clock.now(), 2);
  repo.claim(otherHost, 30_000, clock.now(), 1);
  const p = pool({ repo, clock: clock.now, handler: async () => 'succeeded', owner: `${os.hostname()}:${process.pid}:00000001` });
  p.start();
  await until(() => repo.getJob(jobId).progress.succeeded === 2);
  await p.stop();
  const byOwner = repo.getJob(jobId).items.map((i) => [i.status, i.leaseOwner]);
  t.deepEqual(byOwner, [['succeeded', null], ['succeeded', null], ['running', otherHost]], 'another host’s lease is left to expire');
});

const ownerCases: { name: string; owner: (host: string, dead: number) => string; dead: boolean }[] = [
  { name: 'a pid of this host that no longer runs', owner: (h, dead) => `${h}:${dead}:abcd1234`, dead: true },
  { name: 'our own pid under another random part (a restarted container)', owner: (h) => `${h}:${process.pid}:abcd1234`, dead: true },
  { name: 'a running pid of this host', owner: (h) => `${h}:${process.ppid}:abcd1234`, dead: false },
  { name: 'another host', owner: (_h, dead) => `other-host:${dead}:abcd1234`, dead: false },
  { name: 'a name of another shape', owner: () => 'test-worker', dead: false },
];
for (const c of ownerCases) {
  test(`ownerIsDead: ${c.name} → ${c.dead}`, async (t) => {
    const os = await import('node:os');
    const { ownerIsDead } = await import('../../server/src/jobs/worker-pool.js');
    t.is(ownerIsDead(c.owner(os.hostname(), await deadPid()), `${os.hostname()}:${process.pid}:00000001`), c.dead);
  });
}
