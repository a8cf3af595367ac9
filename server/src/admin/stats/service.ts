import type { ModuleRepository, ModuleStorageStats } from '../../db/modules.js';
import type { ProviderRepository, StorageStats } from '../../db/providers.js';

export interface StatsServiceDeps {
  providers: ProviderRepository;
  /** Without it the report counts no modules (callers that hold providers only). */
  modules?: Pick<ModuleRepository, 'stats'>;
}

/** How long the rankings are: enough for a dashboard, bounded for a mirror of thousands of providers. */
export const STORAGE_RANKING_LIMITS = { providers: 50, packages: 20 } as const;

export function storageReport(deps: StatsServiceDeps): StorageStats & { modules: ModuleStorageStats } {
  return {
    ...deps.providers.storageStats(STORAGE_RANKING_LIMITS),
    modules: deps.modules?.stats() ?? { modules: 0, versions: 0, bytes: 0 },
  };
}
