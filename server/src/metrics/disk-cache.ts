import type { Registry } from 'prom-client';
import { scrapedGauges, scrapedTotals } from './scraped.js';

/** What the archive disk cache reports (CachedArchiveStore.stats), restated so metrics depend on a shape, not on storage. */
export interface DiskCacheSnapshot {
  hits: number;
  misses: number;
  fills: number;
  fillBytes: number;
  joined: number;
  evictions: number;
  invalidations: number;
  integrityFailures: number;
  bypassed: number;
  staleServed: number;
  bytes: number;
  entries: number;
  maxBytes: number;
}

/** Series computed at scrape time from `read` (undefined: no disk cache or the source failed; the series keep their values). */
export function registerDiskCacheMetrics(registry: Registry, read: () => DiskCacheSnapshot | undefined): void {
  const total = scrapedTotals(registry, read);
  const gauge = scrapedGauges(registry, read);
  total('archive_disk_cache_hits_total', 'Archive reads answered from the local disk cache', (s) => s.hits);
  total('archive_disk_cache_misses_total', 'Archive reads the disk cache did not hold (each waits for a fill, or streams from the store)', (s) => s.misses);
  total('archive_disk_cache_fills_total', 'Archives copied from object storage into the disk cache (one GET each)', (s) => s.fills);
  total('archive_disk_cache_fill_bytes_total', 'Bytes copied from object storage into the disk cache', (s) => s.fillBytes);
  total('archive_disk_cache_joined_total', 'Archive reads that waited for a fill another read had started', (s) => s.joined);
  total('archive_disk_cache_evictions_total', 'Cached archives removed to stay within cache.disk_max_size (least recently used first)', (s) => s.evictions);
  total('archive_disk_cache_invalidations_total', 'Cached archives removed because the object was deleted, re-stored or gone', (s) => s.invalidations);
  total('archive_disk_cache_integrity_failures_total', 'Fills whose bytes did not match the recorded sha256, and cached copies found corrupt on a ttl re-check', (s) => s.integrityFailures);
  total('archive_disk_cache_bypassed_total', 'Archive reads streamed from the store without the cache (too large, no room, or a failed fill)', (s) => s.bypassed);
  total('archive_disk_cache_stale_served_total', 'Cached archives served although the ttl re-check could not reach the store', (s) => s.staleServed);
  gauge('archive_disk_cache_bytes', 'Bytes of archives held in the disk cache', (s) => s.bytes);
  gauge('archive_disk_cache_entries', 'Archives held in the disk cache', (s) => s.entries);
  gauge('archive_disk_cache_max_bytes', 'The disk cache size limit (cache.disk_max_size)', (s) => s.maxBytes);
}
