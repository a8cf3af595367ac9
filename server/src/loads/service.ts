import path from 'node:path';
import type { Config } from '../config/types.js';
import type { JobRepository } from '../db/jobs.js';
import { parseHolder } from '../db/package-holders.js';
import { WorkerPool, type PoolEvent } from '../jobs/worker-pool.js';
import type { Runtime } from '../runtime.js';
import { RegistryClients } from '../upstream/registry.js';
import { fetchPackageHandler } from './fetch-package.js';
import { StagingArea } from './staging.js';

export interface LoadWorkers {
  jobs: JobRepository;
  registries: RegistryClients;
  pool: WorkerPool;
  /** Where downloads are staged; the orphan sweep clears what dead processes left there. */
  staging: StagingArea;
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
  opts: { jobId?: number; published?: () => void; onEvent?: (e: PoolEvent) => void } = {},
): LoadWorkers {
  const jobs = runtime.repos.jobs;
  const registries = new RegistryClients(config.upstreams, { downloadMaxBytes: config.limits.zipMaxUncompressedBytes });
  const staging = new StagingArea(path.join(config.dataDir, 'staging'));
  staging.init();
  const handler = fetchPackageHandler({
    registry: (hostname) => registries.get(hostname),
    store: runtime.store,
    providers: runtime.providers,
    limits: config.limits,
    staging,
    published: opts.published,
    holderOf: (jobId) => parseHolder(jobs.holderOf(jobId)),
  });
  const pool = new WorkerPool({ repo: jobs, handler, concurrency: config.jobs.concurrency, jobId: opts.jobId, onEvent: opts.onEvent });
  return {
    jobs,
    registries,
    pool,
    staging,
    async close() {
      await pool.stop();
      registries.close();
    },
  };
}
