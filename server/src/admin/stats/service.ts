import type { ProviderRepository, StorageStats } from '../../db/providers.js';

export interface StatsServiceDeps {
  providers: ProviderRepository;
}

/** How long the rankings are: enough for a dashboard, bounded for a mirror of thousands of providers. */
export const STORAGE_RANKING_LIMITS = { providers: 50, packages: 20 } as const;

export function storageReport(deps: StatsServiceDeps): StorageStats {
  return deps.providers.storageStats(STORAGE_RANKING_LIMITS);
}
