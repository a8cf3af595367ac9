import test from 'ava';
import { InvalidInput, NotFound } from '../../server/src/errors.js';
import { items, loadJob, manualClock, memoryRepository } from './job-fixtures.js';

const T0 = 1_700_000_000_000;
const LEASE = 30_000;

test('a created job holds its spec, items and progress totals', (t) => {
  const { repo } = memoryRepository();
  const id = repo.createJob(loadJob(items(3), 4), T0);
  const job = repo.getJob(id);
  t.like(job, { id, kind: 'load', status: 'pending', requestedBy: 'admin', createdAt: T0, startedAt: null, finishedAt: null });
  t.deepEqual(job.spec, { providers: ['hashicorp/null'] });
  t.deepEqual(job.items.map((i) => [i.platform, i.status, i.attempts, i.maxAttempts]), [
    ['linux_arch0', 'pending', 0, 4],
    ['linux_arch1', 'pending', 0, 4],
    ['linux_arch2', 'pending', 0, 4],
  ]);
  t.deepEqual(job.progress, {
    total: 3, pending: 3, retrying: 0, running: 0, succeeded: 0, skipped: 0, failed: 0, bytesDone: 0, bytesTotal: 0,
  });
});

test('repeated items in one request collapse into one', (t) => {
  const { repo } = memoryRepository();
  const [a, b] = items(2);
  const id = repo.createJob(loadJob([a!, b!, a!, { ...b! }]), T0);
  t.is(repo.getJob(id).items.length, 2);
});

test('an empty job is succeeded at once', (t) => {
  const { repo } = memoryRepository();
  const job = repo.getJob(repo.createJob(loadJob([]), T0));
  t.like(job, { status: 'succeeded', finishedAt: T0 });
});

test('max attempts below one is refused as invalid input', (t) => {
  const { repo } = memoryRepository();
  t.throws(() => repo.createJob(loadJob(items(1), 0), T0), { instanceOf: InvalidInput });
});

test('an unknown job is NotFound for get and retry', (t) => {
  const { repo } = memoryRepository();
  t.throws(() => repo.getJob(42), { instanceOf: NotFound });
  t.throws(() => repo.retryFailed(42, T0), { instanceOf: NotFound });
});

test('jobs are listed newest first, filtered by status and paged', (t) => {
  const { repo } = memoryRepository();
  const ids = [1, 2, 3, 4].map((n) => repo.createJob(loadJob(items(n)), T0 + n));
  const [claimed] = repo.claim('w1', LEASE, T0 + 10, 1, ids[3]);
  repo.complete(claimed!.id, 'w1', 'succeeded', T0 + 11);

  const page = repo.listJobs({ limit: 2, offset: 1 });
  t.is(page.total, 4);
  t.deepEqual(page.jobs.map((j) => j.id), [ids[2], ids[1]]);
  t.is(page.jobs[0]!.progress.total, 3);

  const running = repo.listJobs({ status: 'running', limit: 10, offset: 0 });
  t.deepEqual(running.jobs.map((j) => [j.id, j.progress.succeeded, j.progress.pending]), [[ids[3], 1, 3]]);
  t.is(running.total, 1);
});

test('claim leases the oldest due items up to the limit and counts the attempt', (t) => {
  const { repo } = memoryRepository();
  const first = repo.createJob(loadJob(items(2)), T0);
  const second = repo.createJob(loadJob(items(2)), T0 + 1);
  const claimed = repo.claim('w1', LEASE, T0 + 5, 3);
  t.deepEqual(claimed.map((i) => i.jobId), [first, first, second]);
  for (const i of claimed) t.like(i, { status: 'running', attempts: 1, leaseOwner: 'w1', leaseExpiresAt: T0 + 5 + LEASE, startedAt: T0 + 5 });
  t.is(repo.claim('w2', LEASE, T0 + 6, 10).length, 1, 'items under a live lease are not claimed again');
  t.deepEqual(repo.claim('w3', LEASE, T0 + 7, 10), []);
});

test('claim restricted to a job leaves other jobs alone', (t) => {
  const { repo } = memoryRepository();
  repo.createJob(loadJob(items(2)), T0);
  const mine = repo.createJob(loadJob(items(2)), T0);
  const claimed = repo.claim('loader', LEASE, T0, 10, mine);
  t.deepEqual([...new Set(claimed.map((i) => i.jobId))], [mine]);
  t.is(claimed.length, 2);
});

test('an expired lease returns the item to pending and another owner claims it', (t) => {
  const { repo } = memoryRepository();
  const id = repo.createJob(loadJob(items(1)), T0);
  const [item] = repo.claim('crashed', LEASE, T0, 1);
  t.deepEqual(repo.claim('w2', LEASE, T0 + LEASE - 1, 1), [], 'not before the lease ends');

  const [again] = repo.claim('w2', LEASE, T0 + LEASE, 1);
  t.like(again, { id: item!.id, leaseOwner: 'w2', attempts: 2 });
  t.false(repo.heartbeat(item!.id, 'crashed', LEASE, T0 + LEASE + 1), 'the old owner lost it');
  t.false(repo.complete(item!.id, 'crashed', 'succeeded', T0 + LEASE + 1));
  t.true(repo.complete(item!.id, 'w2', 'succeeded', T0 + LEASE + 2));
  t.is(repo.getJob(id).status, 'succeeded');
});

test('recoverExpiredLeases hands expired items back with the reason', (t) => {
  const { repo } = memoryRepository();
  const id = repo.createJob(loadJob(items(2)), T0);
  repo.claim('crashed', LEASE, T0, 1);
  repo.claim('alive', LEASE, T0 + 10_000, 1);
  t.is(repo.recoverExpiredLeases(T0 + LEASE), 1);
  const job = repo.getJob(id);
  t.deepEqual(job.items.map((i) => [i.status, i.leaseOwner]), [['pending', null], ['running', 'alive']]);
  t.regex(job.items[0]!.error!, /stopped renewing its lease/);
});

test('an expired lease on the last attempt fails the item instead of looping', (t) => {
  const { repo } = memoryRepository();
  const id = repo.createJob(loadJob(items(1), 1), T0);
  repo.claim('crashed', LEASE, T0, 1);
  repo.recoverExpiredLeases(T0 + LEASE);
  t.like(repo.getJob(id), { status: 'failed', finishedAt: T0 + LEASE });
});

test('a heartbeat after the lease was lost returns false and records nothing', (t) => {
  const { repo } = memoryRepository();
  repo.createJob(loadJob(items(1)), T0);
  const [item] = repo.claim('w1', LEASE, T0, 1);
  repo.recoverExpiredLeases(T0 + LEASE);
  t.false(repo.heartbeat(item!.id, 'w1', LEASE, T0 + LEASE, 10, 100));
  t.like(repo.getItem(item!.id), { status: 'pending', bytesDone: 0, bytesTotal: 0, leaseOwner: null });
});

test('a heartbeat extends the lease and records bytes', (t) => {
  const { repo } = memoryRepository();
  const id = repo.createJob(loadJob(items(2)), T0);
  const [a, b] = repo.claim('w1', LEASE, T0, 2);
  t.true(repo.heartbeat(a!.id, 'w1', LEASE, T0 + 20_000, 300, 1_000));
  t.true(repo.heartbeat(b!.id, 'w1', LEASE, T0 + 20_000, 50, 500));
  t.deepEqual(repo.claim('w2', LEASE, T0 + LEASE + 1, 2), [], 'the extended lease still holds');
  const { progress } = repo.getJob(id);
  t.like(progress, { bytesDone: 350, bytesTotal: 1_500, running: 2 });
  repo.complete(a!.id, 'w1', 'succeeded', T0 + 30_000, { done: 1_000, total: 1_000 });
  t.like(repo.getItem(a!.id), { bytesDone: 1_000, bytesTotal: 1_000, finishedAt: T0 + 30_000 });
});

test('failures retry after their backoff until max attempts, then fail with the error text', (t) => {
  const { repo } = memoryRepository();
  const clock = manualClock(T0);
  const id = repo.createJob(loadJob(items(1), 3), clock.now());
  const outcomes: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const [item] = repo.claim('w1', LEASE, clock.now(), 1);
    t.is(item?.attempts, attempt);
    const retryAt = clock.now() + 1_000 * attempt;
    outcomes.push(repo.fail(item!.id, 'w1', `upstream said 503 (attempt ${attempt})`, retryAt, clock.now()));
    if (attempt < 3) {
      t.like(repo.getJob(id), { status: 'running', progress: { retrying: 1 } });
      clock.advance(1_000 * attempt - 1);
      t.deepEqual(repo.claim('w1', LEASE, clock.now(), 1), [], 'not before retryAt');
      clock.advance(1);
    }
  }
  t.deepEqual(outcomes, ['retry', 'retry', 'failed']);
  const job = repo.getJob(id);
  t.like(job, { status: 'failed', finishedAt: clock.now() });
  t.like(job.items[0], { status: 'failed', attempts: 3, error: 'upstream said 503 (attempt 3)' });
});

test('a failure without a retry time fails at once, attempts left or not', (t) => {
  const { repo } = memoryRepository();
  const id = repo.createJob(loadJob(items(1), 5), T0);
  const [item] = repo.claim('w1', LEASE, T0, 1);
  t.is(repo.fail(item!.id, 'w1', 'SHA256SUMS signature is not valid', null, T0 + 1), 'failed');
  t.like(repo.getJob(id).items[0], { status: 'failed', attempts: 1, error: 'SHA256SUMS signature is not valid' });
});

test('fail and complete with a lease another owner holds change nothing', (t) => {
  const { repo } = memoryRepository();
  repo.createJob(loadJob(items(1)), T0);
  const [item] = repo.claim('w1', LEASE, T0, 1);
  t.is(repo.fail(item!.id, 'intruder', 'boom', null, T0), 'lost');
  t.false(repo.complete(item!.id, 'intruder', 'succeeded', T0));
  t.like(repo.getItem(item!.id), { status: 'running', leaseOwner: 'w1', error: null });
});

test('retryFailed resets only failed items, with fresh attempts', (t) => {
  const { repo } = memoryRepository();
  const id = repo.createJob(loadJob(items(3), 1), T0);
  const [ok, bad, skipped] = repo.claim('w1', LEASE, T0, 3);
  repo.complete(ok!.id, 'w1', 'succeeded', T0 + 1);
  repo.fail(bad!.id, 'w1', 'boom', T0 + 5, T0 + 1);
  repo.complete(skipped!.id, 'w1', 'skipped', T0 + 2);
  t.like(repo.getJob(id), { status: 'failed', finishedAt: T0 + 2 });

  t.is(repo.retryFailed(id, T0 + 100), 1);
  const job = repo.getJob(id);
  t.like(job, { status: 'running', finishedAt: null, startedAt: T0 });
  t.deepEqual(job.items.map((i) => [i.status, i.attempts, i.error]), [
    ['succeeded', 1, null],
    ['pending', 0, null],
    ['skipped', 1, null],
  ]);
  t.is(repo.retryFailed(id, T0 + 101), 0, 'nothing left to retry');
  const [again] = repo.claim('w1', LEASE, T0 + 100, 5);
  t.is(again?.id, bad!.id);
});

test('releaseLeasesOf hands back only that owner’s items and refunds the attempt', (t) => {
  const { repo } = memoryRepository();
  const id = repo.createJob(loadJob(items(3)), T0);
  repo.claim('stopping', LEASE, T0, 2);
  repo.claim('other', LEASE, T0, 1);
  t.is(repo.releaseLeasesOf('stopping', T0 + 1), 2);
  const job = repo.getJob(id);
  t.deepEqual(job.items.map((i) => [i.status, i.attempts, i.leaseOwner]), [
    ['pending', 0, null],
    ['pending', 0, null],
    ['running', 1, 'other'],
  ]);
  t.is(repo.countActive(id), 3);
});

test('a job is started by its first claim and finished by its last item', (t) => {
  const { repo } = memoryRepository();
  const id = repo.createJob(loadJob(items(2)), T0);
  const [a, b] = repo.claim('w1', LEASE, T0 + 10, 2);
  t.like(repo.getJob(id), { status: 'running', startedAt: T0 + 10, finishedAt: null });
  repo.complete(a!.id, 'w1', 'succeeded', T0 + 20);
  t.like(repo.getJob(id), { status: 'running', finishedAt: null });
  repo.complete(b!.id, 'w1', 'skipped', T0 + 30);
  t.like(repo.getJob(id), { status: 'succeeded', startedAt: T0 + 10, finishedAt: T0 + 30 });
  t.is(repo.countActive(id), 0);
});

test('recoverLeasesOfDeadOwners hands back only the dead owners’ items, counting the attempt', (t) => {
  const { repo } = memoryRepository();
  const id = repo.createJob(loadJob(items(3), 1), T0);
  repo.claim('dead', LEASE, T0, 2);
  repo.claim('alive', LEASE, T0, 1);
  t.is(repo.recoverLeasesOfDeadOwners((owner) => owner === 'dead', T0 + 1), 2);
  const job = repo.getJob(id);
  // One attempt allowed and spent by the crash: the items fail rather than loop.
  t.deepEqual(job.items.map((i) => [i.status, i.leaseOwner]), [['failed', null], ['failed', null], ['running', 'alive']]);
  t.regex(job.items[0]!.error ?? '', /died/);
});
