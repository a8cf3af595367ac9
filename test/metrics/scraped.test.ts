import test from 'ava';
import { Registry } from 'prom-client';
import { registerDiskCacheMetrics, type DiskCacheSnapshot } from '../../server/src/metrics/disk-cache.js';
import { registerPullSeamMetrics, type PullSeamSnapshot } from '../../server/src/metrics/pull-seam.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const cache = (n: number): DiskCacheSnapshot => ({
  hits: n, misses: 2 * n, fills: 3, fillBytes: 4, joined: 5, evictions: 6, invalidations: 7,
  integrityFailures: 8, bypassed: 9, staleServed: 10, bytes: 100 * n, entries: n, maxBytes: 1000,
});

test('disk cache series restate the cache totals at each scrape and keep their last values while the source gives nothing', async (t) => {
  const registry = new Registry();
  let current: DiskCacheSnapshot | undefined = cache(1);
  registerDiskCacheMetrics(registry, () => current);
  let text = await registry.metrics();
  t.is(sample(text, 'archive_disk_cache_hits_total'), 1);
  t.is(sample(text, 'archive_disk_cache_misses_total'), 2);
  t.is(sample(text, 'archive_disk_cache_bytes'), 100);
  t.is(sample(text, 'archive_disk_cache_max_bytes'), 1000);
  current = cache(4);
  text = await registry.metrics();
  t.is(sample(text, 'archive_disk_cache_hits_total'), 4, 'a counter is set to the total, not incremented by it');
  t.is(sample(text, 'archive_disk_cache_entries'), 4);
  current = undefined;
  text = await registry.metrics();
  t.is(sample(text, 'archive_disk_cache_hits_total'), 4);
  t.is(sample(text, 'archive_disk_cache_bytes'), 400);
});

test('pull seam series without module or archive figures keep their last values; the in-flight gauge follows the puller', async (t) => {
  const registry = new Registry();
  const seam = { misses: 3, hits: 1, pulled: 1, stale: 0, refused: 1, coalesced: 2, failed: 0 };
  let current: PullSeamSnapshot = { seam, archives: { downloads: 2, bytesFetched: 10, joined: 0, peerWaits: 0, integrityFailures: 0, inFlight: 2 } };
  registerPullSeamMetrics(registry, () => current);
  let text = await registry.metrics();
  t.is(sample(text, 'pull_misses_total'), 3);
  t.is(sample(text, 'pull_archive_downloads_in_flight'), 2);
  t.is(sample(text, 'pull_module_misses_total'), 0, 'no module figures yet: the counter stays at zero');
  current = { seam: { ...seam, misses: 5 }, modules: { ...seam, misses: 7 } };
  text = await registry.metrics();
  t.is(sample(text, 'pull_misses_total'), 5);
  t.is(sample(text, 'pull_module_misses_total'), 7);
  t.is(sample(text, 'pull_archive_downloads_in_flight'), 2, 'no archive figures: the gauge keeps its last value');
  t.is(sample(text, 'pull_archive_downloads_total'), 2);
});
