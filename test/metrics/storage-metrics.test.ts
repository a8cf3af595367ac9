import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { openDatabase } from '../../server/src/db/database.js';
import { JobStatsRepository } from '../../server/src/db/job-stats.js';
import { JobRepository } from '../../server/src/db/jobs.js';
import { Metrics } from '../../server/src/metrics/index.js';
import { dataVolumeSnapshot, oldestDueItemAge } from '../../server/src/metrics/storage.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const item = (i: number) => ({ source: 'registry.terraform.io/hashicorp/null', version: '3.2.0', platform: `linux_a${i}` });

test('the oldest due pending item is the one a worker should have claimed; items waiting out a retry delay are not due', async (t) => {
  const db = openDatabase(':memory:');
  t.teardown(() => db.close());
  const jobs = new JobRepository(db);
  const stats = new JobStatsRepository(db);
  t.is(stats.oldestDuePendingAt(10_000), null);

  jobs.createJob({ kind: 'load', requestedBy: 'admin', spec: {}, maxAttempts: 3, items: [item(1)] }, 1_000);
  jobs.createJob({ kind: 'load', requestedBy: 'admin', spec: {}, maxAttempts: 3, items: [item(2)] }, 4_000);
  t.is(stats.oldestDuePendingAt(3_000), 1_000, 'the item created later is not due yet');
  t.is(stats.oldestDuePendingAt(10_000), 1_000);

  let now = 61_000;
  const metrics = new Metrics({ defaultMetrics: false, oldestDueItemAge: () => oldestDueItemAge(stats, now) });
  t.is(sample(await metrics.scrape(), 'job_items_oldest_due_pending_age_seconds'), 60);

  // The oldest is claimed and fails with a retry in the future: the next one is now the oldest due.
  const [claimed] = jobs.claim('w', 30_000, now, 1);
  t.is(claimed!.platform, 'linux_a1');
  jobs.fail(claimed!.id, 'w', 'upstream 503', now + 600_000, now);
  t.is(sample(await metrics.scrape(), 'job_items_oldest_due_pending_age_seconds'), 57);

  const [second] = jobs.claim('w', 30_000, now, 1);
  jobs.complete(second!.id, 'w', 'succeeded', now);
  t.is(sample(await metrics.scrape(), 'job_items_oldest_due_pending_age_seconds'), 0, 'nothing due: the retry is in ten minutes');
  now += 700_000;
  t.is(sample(await metrics.scrape(), 'job_items_oldest_due_pending_age_seconds'), 100, 'due since the retry time');
});

test('storage and data volume gauges are read from their sources at scrape time', async (t) => {
  let held = { providerPackages: { objects: 3, bytes: 3_000 }, moduleVersions: { objects: 2, bytes: 512 } };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-volume-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const metrics = new Metrics({ defaultMetrics: false, storage: () => held, dataVolume: () => dataVolumeSnapshot(dir) });
  let text = await metrics.scrape();
  t.is(sample(text, 'mirror_storage_bytes{kind="provider_package"}'), 3_000);
  t.is(sample(text, 'mirror_storage_objects{kind="module_version"}'), 2);
  const statfs = fs.statfsSync(dir);
  t.is(sample(text, 'mirror_data_volume_size_bytes'), statfs.blocks * statfs.bsize);
  const available = sample(text, 'mirror_data_volume_available_bytes')!;
  t.true(available > 0 && available <= statfs.blocks * statfs.bsize);

  held = { providerPackages: { objects: 4, bytes: 4_096 }, moduleVersions: { objects: 2, bytes: 512 } };
  text = await metrics.scrape();
  t.is(sample(text, 'mirror_storage_objects{kind="provider_package"}'), 4);
});

test('a data directory that vanished fails only its own source', async (t) => {
  const failed: string[] = [];
  const metrics = new Metrics({
    defaultMetrics: false,
    dataVolume: () => dataVolumeSnapshot(path.join(os.tmpdir(), 'tfm-no-such-dir-' + process.pid, 'x')),
    storage: () => ({ providerPackages: { objects: 1, bytes: 1 }, moduleVersions: { objects: 0, bytes: 0 } }),
    onSourceError: (source) => void failed.push(source),
  });
  const text = await metrics.scrape();
  t.is(sample(text, 'mirror_storage_objects{kind="provider_package"}'), 1);
  t.deepEqual([...new Set(failed)], ['dataVolume']);
});
