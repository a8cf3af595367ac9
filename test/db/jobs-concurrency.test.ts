import { Worker } from 'node:worker_threads';
import test from 'ava';
import { openDatabase } from '../../server/src/db/database.js';
import { JobRepository } from '../../server/src/db/jobs.js';
import { items, loadJob, tempDatabaseFile } from './job-fixtures.js';

const LEASE = 30_000;

function assertDisjointCover(t: import('ava').ExecutionContext, claims: number[][], expected: number[]): void {
  const all = claims.flat();
  t.is(new Set(all).size, all.length, 'no item was claimed twice');
  t.deepEqual([...all].sort((a, b) => a - b), [...expected].sort((a, b) => a - b), 'every item was claimed');
}

test('two connections claiming interleaved never claim the same item', (t) => {
  const { file, cleanup } = tempDatabaseFile();
  t.teardown(cleanup);
  const dbs = [openDatabase(file), openDatabase(file)];
  t.teardown(() => dbs.forEach((d) => d.close()));
  const [a, b] = dbs.map((d) => new JobRepository(d)) as [JobRepository, JobRepository];
  const jobId = a.createJob(loadJob(items(200)), 0);
  const claims: number[][] = [[], []];
  // Uneven batches and interleaving, with completions in between, as two busy processes would.
  for (let round = 0; claims.flat().length < 200 && round < 500; round++) {
    const mine = a.claim('a', LEASE, round, 1 + (round % 3));
    claims[0]!.push(...mine.map((i) => i.id));
    const theirs = b.claim('b', LEASE, round, 1 + (round % 5));
    claims[1]!.push(...theirs.map((i) => i.id));
    for (const i of mine) a.complete(i.id, 'a', 'succeeded', round);
  }
  assertDisjointCover(t, claims, a.getJob(jobId).items.map((i) => i.id));
  t.true(claims[0]!.length > 0 && claims[1]!.length > 0);
});

test('worker threads claiming at the same time never claim the same item', async (t) => {
  const { file, cleanup } = tempDatabaseFile();
  t.teardown(cleanup);
  const db = openDatabase(file);
  const repo = new JobRepository(db);
  const jobId = repo.createJob(loadJob(items(300)), 0);
  const owners = ['t1', 't2', 't3'];
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const runs = owners.map(
    (owner) =>
      new Promise<number[]>((resolve, reject) => {
        const workerData = { file, owner, batch: 2, gate, parties: owners.length };
        const w = new Worker(new URL('./claim-worker.js', import.meta.url), { workerData });
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  const claims = await Promise.all(runs);
  assertDisjointCover(t, claims, repo.getJob(jobId).items.map((i) => i.id));
  t.true(claims.filter((c) => c.length > 0).length >= 2, `claims overlapped: ${claims.map((c) => c.length).join('/')}`);
  t.is(repo.getJob(jobId).status, 'succeeded');
  db.close();
});
