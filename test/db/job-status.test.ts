import test from 'ava';
import { deriveJobStatus, type JobProgress, type JobStatus } from '../../server/src/db/jobs.js';
import { items, loadJob, memoryRepository } from './job-fixtures.js';

type Counts = Pick<JobProgress, 'pending' | 'retrying' | 'running' | 'succeeded' | 'skipped' | 'failed'>;
const none: Counts = { pending: 0, retrying: 0, running: 0, succeeded: 0, skipped: 0, failed: 0 };

const cases: { name: string; counts: Partial<Counts>; status: JobStatus }[] = [
  { name: 'all items pending: pending', counts: { pending: 3 }, status: 'pending' },
  { name: 'any item running: running', counts: { pending: 2, running: 1 }, status: 'running' },
  { name: 'running beside failed items: still running', counts: { running: 1, failed: 2 }, status: 'running' },
  { name: 'some done, some pending: running', counts: { pending: 1, succeeded: 1 }, status: 'running' },
  { name: 'failed beside pending: running (work remains)', counts: { pending: 1, failed: 1 }, status: 'running' },
  { name: 'only pending, one waiting out a backoff: running', counts: { pending: 2, retrying: 1 }, status: 'running' },
  { name: 'all succeeded: succeeded', counts: { succeeded: 3 }, status: 'succeeded' },
  { name: 'succeeded and skipped: succeeded', counts: { succeeded: 1, skipped: 2 }, status: 'succeeded' },
  { name: 'all skipped (already held): succeeded', counts: { skipped: 2 }, status: 'succeeded' },
  { name: 'nothing left and one failed: failed', counts: { succeeded: 5, failed: 1 }, status: 'failed' },
  { name: 'all failed: failed', counts: { failed: 2 }, status: 'failed' },
  { name: 'no items at all: succeeded', counts: {}, status: 'succeeded' },
];

for (const c of cases) {
  test(`job status: ${c.name}`, (t) => {
    const counts = { ...none, ...c.counts };
    const total = counts.pending + counts.running + counts.succeeded + counts.skipped + counts.failed;
    t.is(deriveJobStatus({ ...counts, total }), c.status);
  });
}

test('the stored job status follows every item transition', (t) => {
  const { repo } = memoryRepository();
  const id = repo.createJob(loadJob(items(2), 2), 0);
  const seen = [repo.getJob(id).status];
  const [a, b] = repo.claim('w', 1_000, 1, 2);
  seen.push(repo.getJob(id).status);
  repo.complete(a!.id, 'w', 'succeeded', 2);
  seen.push(repo.getJob(id).status);
  repo.fail(b!.id, 'w', 'boom', 10, 3);
  seen.push(repo.getJob(id).status);
  repo.claim('w', 1_000, 10, 1);
  repo.fail(b!.id, 'w', 'boom again', 20, 11);
  seen.push(repo.getJob(id).status);
  t.deepEqual(seen, ['pending', 'running', 'running', 'running', 'failed']);
  t.is(repo.listJobs({ status: 'failed', limit: 1, offset: 0 }).jobs[0]?.id, id);
});
