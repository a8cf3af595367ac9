import type { JobItem } from '../db/jobs.js';
import type { HandlerContext, JobHandler } from '../jobs/worker-pool.js';
import { parseModuleAddress } from '../modules/address.js';
import type { ModuleHolder, ModuleIngest } from '../modules/ports.js';

export interface FetchModuleDeps {
  ingest: ModuleIngest;
  /** Who the item's job loads for (a ModuleSet or ProviderSet, or "loaded"); default "loaded". */
  holderOf?: (jobId: number) => ModuleHolder;
}

/**
 * The job handler for one (module, version) item: the module ingest does the
 * work (one fetch for every concurrent caller, across processes too; a
 * version already held only gains the job's holder, with no upstream call).
 * Bytes received become the item's progress.
 */
export function fetchModuleHandler(deps: FetchModuleDeps): JobHandler {
  return async (item: JobItem, ctx: HandlerContext) => {
    const address = parseModuleAddress(item.source);
    const holder = deps.holderOf?.(item.jobId) ?? { kind: 'loaded' };
    let received = 0;
    ctx.progress(0);
    const onProgress = (bytes: number) => {
      received = bytes;
      ctx.progress(bytes);
    };
    const result = await deps.ingest.ingest(address, item.version, holder, { signal: ctx.signal, onProgress });
    // A source that counted nothing on the way (a fetch another process did) still brought the stored archive.
    if (result.fetched && received === 0) ctx.progress(result.row.size, result.row.size);
    return result.fetched ? 'succeeded' : 'skipped';
  };
}
