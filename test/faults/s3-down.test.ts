import { createHash } from 'node:crypto';
import test from 'ava';
import { loadSetup } from '../fixtures/load-setup.js';
import { runCli, startServe } from '../fixtures/tfmirror.js';
import { checkInvariants, query, s3Env, spawnCli, storeFor, until } from './harness.js';
import { startRestartableS3rver } from './s3-outage.js';

const held = { namespace: 'acme', type: 'held', versions: { '1.0.0': ['linux_amd64', 'darwin_arm64'] } };
const later = { namespace: 'acme', type: 'later', versions: { '1.0.0': ['linux_amd64', 'darwin_arm64'] } };
const defs = (type: string, platforms: string) => `providers:\n  - source: acme/${type}\n    versions: ["1.0.0"]\n    platforms: [${platforms}]\n`;

test('S3 down: held metadata is still served, archives read before come from the disk cache, others answer 503 with Retry-After, a load retries and finishes when S3 is back, nothing half-written stays', async (t) => {
  const s3 = await startRestartableS3rver();
  t.teardown(() => s3.close());
  const s = await loadSetup([held, later]);
  t.teardown(() => s.close());
  const env = { ...s.env, ...s3Env(s3), TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_SERVER_TLS: 'false', TFM_LOG_LEVEL: 'warn', TFM_JOBS_MAX_ATTEMPTS: '20' };

  const first = await runCli(['load', s.writeDefinitions('held.yaml', defs('held', 'linux_amd64, darwin_arm64'))], env);
  t.is(first.code, 0, first.stdout + first.stderr);
  const serve = await startServe(env);
  t.teardown(() => void serve.stop());
  const base = `${serve.url}registry.terraform.io/acme/held/`;
  const versionDoc = (await (await fetch(`${base}1.0.0.json`)).json()) as { archives: Record<string, { url: string }> };
  const archiveUrl = new URL(versionDoc.archives.linux_amd64!.url, `${base}1.0.0.json`).toString();
  const unreadUrl = new URL(versionDoc.archives.darwin_arm64!.url, `${base}1.0.0.json`).toString();
  const first200 = await fetch(archiveUrl);
  t.is(first200.status, 200, 'the archive streams while S3 is up');
  await first200.arrayBuffer(); // read to the end: the disk cache now holds it

  await s3.stop();
  const index = await fetch(`${base}index.json`);
  t.is(index.status, 200, 'index.json from the database');
  t.deepEqual(await index.json(), { versions: { '1.0.0': {} } });
  const version = await fetch(`${base}1.0.0.json`);
  t.is(version.status, 200, '{version}.json from the database');
  const cached = await fetch(archiveUrl);
  t.is(cached.status, 200, 'an archive read before S3 went down is served from the disk cache');
  t.is(createHash('sha256').update(Buffer.from(await cached.arrayBuffer())).digest('hex'), s.registry.release('acme', 'held', '1.0.0').packages.get('linux_amd64')!.sha256);
  const archive = await fetch(unreadUrl);
  t.is(archive.status, 503, 'an archive not cached, read while S3 is down, is unavailable, not a 500 or 404');
  t.regex(archive.headers.get('retry-after') ?? '', /^\d+$/);
  t.is((await fetch(`${serve.url}readyz`)).status, 503, 'not ready without its store');
  t.is((await fetch(`${serve.url}healthz`)).status, 200, 'but alive: no restart would help');

  // A load while S3 is down: its items fail their attempts with retryable errors and wait.
  const load = spawnCli(['load', s.writeDefinitions('later.yaml', defs('later', 'linux_amd64, darwin_arm64'))], env);
  const retried = () => query<{ n: number }>(s, `SELECT COUNT(*) AS n FROM job_items WHERE source LIKE '%/later' AND status = 'pending' AND attempts > 0`)[0]?.n ?? 0;
  await until('the load to retry against the stopped S3', () => retried() > 0, 60_000);
  const errors = query<{ error: string }>(s, `SELECT error FROM job_items WHERE source LIKE '%/later' AND error IS NOT NULL`);
  t.log(`while S3 was down: ${errors.map((e) => e.error).join(' | ')}`);
  await s3.start();
  const { code } = await load.exited;
  t.is(code, 0, load.output());

  const back = await fetch(archiveUrl);
  t.is(back.status, 200, 'archives stream again once S3 is back');
  t.is((await fetch(`${serve.url}readyz`)).status, 200, 'ready again');
  const bytes = Buffer.from(await back.arrayBuffer());
  t.is(createHash('sha256').update(bytes).digest('hex'), s.registry.release('acme', 'held', '1.0.0').packages.get('linux_amd64')!.sha256);
  await serve.stop();

  const result = await checkInvariants(s, storeFor(s, s3), 4);
  t.deepEqual(result.problems, []);
  t.log(`${result.objectsChecked} objects read back and hashed; sweep removed ${result.sweep.deleted} orphans; ${result.objectsAfterSweep} objects left, all named by rows`);
});
