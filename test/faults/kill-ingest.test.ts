import test, { type ExecutionContext } from 'ava';
import { loadSetup } from '../fixtures/load-setup.js';
import { startS3rver } from '../fixtures/s3rver.js';
import {
  TWENTY,
  TWENTY_DEFINITIONS,
  checkInvariants,
  faultSeed,
  killMidIngest,
  query,
  s3Env,
  seededRandom,
  spawnCli,
  storeFor,
  until,
  type KillRecord,
} from './harness.js';

const KILLS_PER_PROCESS = 2;

async function killAndRecover(t: ExecutionContext, backend: 'filesystem' | 's3') {
  const seed = faultSeed();
  const random = seededRandom(seed);
  t.log(`seed ${seed} (replay: TFM_FAULT_SEED=${seed})`);
  const s3 = backend === 's3' ? await startS3rver() : undefined;
  if (s3) t.teardown(() => s3.close());
  const s = await loadSetup(TWENTY);
  t.teardown(() => s.close());
  // Each archive takes a while to arrive, so a kill lands in the middle of ingests, not between runs.
  s.registry.fault({ fault: { kind: 'slow', ms: 150 }, path: /\.zip$/ });
  const env = {
    ...s.env,
    ...(s3 ? s3Env(s3) : {}),
    // A crash counts as an attempt; a few kills must not use up an item's attempts.
    TFM_JOBS_MAX_ATTEMPTS: '20',
    TFM_JOBS_CONCURRENCY: '4',
    TFM_SERVER_LISTEN: '127.0.0.1:0',
    TFM_SERVER_TLS: 'false',
    TFM_LOG_LEVEL: 'warn',
  };
  const defs = s.writeDefinitions('twenty.yaml', TWENTY_DEFINITIONS);
  const active = () => query<{ n: number }>(s, `SELECT COUNT(*) AS n FROM job_items WHERE status IN ('pending', 'running')`)[0]?.n ?? 1;

  const kills: KillRecord[] = [];
  // `tfmirror load` killed twice: each leaves a job behind with items leased by a dead process.
  for (let i = 0; i < KILLS_PER_PROCESS; i++) kills.push(await killMidIngest('load', spawnCli(['load', defs], env), s, random, 250));
  // `serve` runs every queued job; killed twice while it works on them.
  for (let i = 0; i < KILLS_PER_PROCESS && active() > 0; i++) kills.push(await killMidIngest('serve', spawnCli(['serve'], env), s, random, 250));
  for (const k of kills) t.log(`kill -9 ${k.process} +${k.afterMs} ms: ${k.inFlight} in flight, ${k.rowsBefore}/20 recorded`);

  // The restart: a last serve finishes every job, then stops cleanly.
  const last = spawnCli(['serve'], env);
  let exited = false;
  void last.exited.then(() => (exited = true));
  await until('every job to finish', () => exited || active() === 0, 60_000);
  t.false(exited, `serve exited early:\n${last.output()}`);
  last.child.kill('SIGTERM');
  t.is((await last.exited).code, 0, last.output());

  const failed = query<{ source: string; platform: string; error: string }>(s, `SELECT source, platform, error FROM job_items WHERE status = 'failed'`);
  for (const f of failed) t.log(`failed: ${f.source} ${f.platform}: ${f.error}`);
  const jobs = query<{ id: number; status: string }>(s, 'SELECT id, status FROM jobs ORDER BY id');
  t.is(jobs.length, KILLS_PER_PROCESS, 'one job per load run');
  t.deepEqual(jobs.map((j) => j.status), jobs.map(() => 'succeeded'), 'every job finished');
  t.deepEqual(failed, []);

  const result = await checkInvariants(s, storeFor(s, s3), 20);
  t.deepEqual(result.problems, []);
  const cut = kills.reduce((n, k) => n + k.inFlight, 0);
  t.log(
    `${backend}: ${kills.length} kills cut ${cut} ingests in flight; ${kills.length} restarts survived; ` +
      `${result.objectsChecked} objects read back and hashed; sweep removed ${result.sweep.deleted} orphans, ${result.sweep.staging} staging files and ${result.sweep.incomplete} temp files of killed puts; ` +
      `${result.objectsAfterSweep} objects left, all named by rows`,
  );
  t.true(cut > 0, 'at least one kill landed mid-ingest');
}

test('kill -9 of load and serve during 20 ingests (filesystem): every job finishes, every row has its verified object, no orphan after the sweep', (t) =>
  killAndRecover(t, 'filesystem'));

test('kill -9 of load and serve during 20 ingests (S3): every job finishes, every row has its verified object, no orphan after the sweep', (t) =>
  killAndRecover(t, 's3'));
