import path from 'node:path';
import type { Config } from '../config/types.js';
import type { JobRepository } from '../db/jobs.js';
import { parseHolder } from '../db/package-holders.js';
import { WorkerPool, type JobHandler, type PoolEvent } from '../jobs/worker-pool.js';
import type { ModuleFetcher, ModuleIngest } from '../modules/ports.js';
import type { Runtime } from '../runtime.js';
import { RegistryClients } from '../upstream/registry.js';
import { fetchModuleHandler } from './fetch-module.js';
import { fetchPackageHandler } from './fetch-package.js';
import { wireModuleIngest } from './module-ingest-wiring.js';
import { isModuleItem } from './plan-modules.js';
import { processDirectory, StagingArea } from './staging.js';

export interface LoadWorkers {
  jobs: JobRepository;
  registries: RegistryClients;
  pool: WorkerPool;
  /** Where downloads are staged; the orphan sweep clears what dead processes left there. */
  staging: StagingArea;
  /**
   * The module write path the workers use; pull-through takes this same one,
   * so a process has one single-flight map for module fetches.
   */
  moduleIngest: ModuleIngest;
  /** The module fetcher behind it (undefined when an ingest was passed in), for the admin API's drift checks. */
  moduleFetcher: ModuleFetcher | undefined;
  close(): Promise<void>;
}

/**
 * The loading engine wired to one runtime: upstream clients, staging and a
 * worker pool running the fetch handler. `serve` runs one for every job;
 * `tfmirror load` runs one for its own job.
 */
export function createLoadWorkers(
  runtime: Runtime,
  config: Config,
  opts: { jobId?: number; published?: () => void; onEvent?: (e: PoolEvent) => void; moduleIngest?: ModuleIngest } = {},
): LoadWorkers {
  const jobs = runtime.repos.jobs;
  const registries = new RegistryClients(config.upstreams, { downloadMaxBytes: config.limits.zipMaxUncompressedBytes });
  const staging = new StagingArea(path.join(config.dataDir, 'staging'));
  staging.init();
  const packages = fetchPackageHandler({
    registry: (hostname) => registries.get(hostname),
    store: runtime.store,
    providers: runtime.providers,
    limits: config.limits,
    staging,
    published: opts.published,
    holderOf: (jobId) => parseHolder(jobs.holderOf(jobId)),
  });
  // Not in `staging`: its sweep takes names that start with a pid, and the module fetcher's work trees do not.
  const moduleStaging = () => processDirectory(path.join(config.dataDir, 'module-staging'));
  const wired = opts.moduleIngest ? undefined : wireModuleIngest({ runtime, config, registries, stagingDir: moduleStaging(), published: opts.published });
  const moduleIngest = opts.moduleIngest ?? wired!.ingest;
  const modules = fetchModuleHandler({ ingest: moduleIngest, holderOf: (jobId) => parseHolder(jobs.holderOf(jobId)) });
  // Module items have no platform: that alone tells them from provider packages.
  const handler: JobHandler = (item, ctx) => (isModuleItem(item) ? modules(item, ctx) : packages(item, ctx));
  const pool = new WorkerPool({ repo: jobs, handler, concurrency: config.jobs.concurrency, jobId: opts.jobId, onEvent: opts.onEvent });
  return {
    jobs,
    registries,
    pool,
    staging,
    moduleIngest,
    moduleFetcher: wired?.fetcher,
    async close() {
      await pool.stop();
      registries.close();
      wired?.close();
    },
  };
}

