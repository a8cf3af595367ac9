import { statfsSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';
import type { JobStatsRepository } from '../db/job-stats.js';
import type { ModuleRepository } from '../db/modules.js';
import type { ProviderRepository } from '../db/providers.js';

/** What is held, by kind of object, restated here so metrics depend on a shape, not on the repositories. */
export interface StorageSnapshot {
  providerPackages: { objects: number; bytes: number };
  moduleVersions: { objects: number; bytes: number };
}

/** The filesystem holding the data directory (SQLite, and archives with the filesystem store). */
export interface DataVolumeSnapshot {
  sizeBytes: number;
  availableBytes: number;
}

export interface StorageReaders {
  storage: () => StorageSnapshot | undefined;
  dataVolume: () => DataVolumeSnapshot | undefined;
  /** Seconds the longest-waiting due pending job item has waited; 0 when none is due. */
  oldestDueItemAge: () => number | undefined;
}

/**
 * Gauges computed at scrape time (undefined: the source failed or is absent,
 * keep the last values). The volume figures come from the server itself, so a
 * "nearly full" alert works wherever it runs, not only where kubelet volume
 * stats are scraped.
 */
export function registerStorageMetrics(registry: Registry, read: StorageReaders): void {
  const registers = [registry];
  const byKind = (name: string, help: string, pick: (s: { objects: number; bytes: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['kind'],
      registers,
      collect() {
        const s = read.storage();
        if (!s) return;
        this.set({ kind: 'provider_package' }, pick(s.providerPackages));
        this.set({ kind: 'module_version' }, pick(s.moduleVersions));
      },
    });
  byKind('mirror_storage_bytes', 'Archive bytes held in the object store, by kind (provider_package, module_version)', (s) => s.bytes);
  byKind('mirror_storage_objects', 'Archives held in the object store, by kind (provider_package, module_version)', (s) => s.objects);
  const volume = (name: string, help: string, pick: (v: DataVolumeSnapshot) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const v = read.dataVolume();
        if (v) this.set(pick(v));
      },
    });
  volume('mirror_data_volume_size_bytes', 'Size of the filesystem holding the data directory', (v) => v.sizeBytes);
  volume('mirror_data_volume_available_bytes', 'Bytes available to this process on the filesystem holding the data directory', (v) => v.availableBytes);
  new Gauge({
    name: 'job_items_oldest_due_pending_age_seconds',
    help: 'How long the longest-waiting pending job item has been due without a worker claiming it; 0 when none is due (items waiting out a retry delay are not due)',
    registers,
    collect() {
      const age = read.oldestDueItemAge();
      if (age !== undefined) this.set(age);
    },
  });
}

/** Totals from the repositories (no rankings: the limits are 0). */
export function storageSnapshot(repos: { providers: Pick<ProviderRepository, 'storageStats'>; modules: Pick<ModuleRepository, 'stats'> }): StorageSnapshot {
  const { totals } = repos.providers.storageStats({ providers: 0, packages: 0 });
  const modules = repos.modules.stats();
  return {
    providerPackages: { objects: totals.packages, bytes: totals.bytes },
    moduleVersions: { objects: modules.versions, bytes: modules.bytes },
  };
}

/** statfs of the data directory; bavail, not bfree: what a non-root process can still write. */
export function dataVolumeSnapshot(dir: string): DataVolumeSnapshot {
  const s = statfsSync(dir);
  return { sizeBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
}

/** Seconds since the oldest due pending item became due (0: none due). */
export function oldestDueItemAge(stats: Pick<JobStatsRepository, 'oldestDuePendingAt'>, now = Date.now()): number {
  const at = stats.oldestDuePendingAt(now);
  return at === null ? 0 : Math.max(0, (now - at) / 1000);
}
