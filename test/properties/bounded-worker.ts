/**
 * Runs one exported function on a worker thread with a hard heap limit, so a
 * parser that would allocate hundreds of MB for a 1 MB input dies of
 * ERR_WORKER_OUT_OF_MEMORY (a test failure) instead of being measured after
 * the fact, when the garbage is already collected.
 *
 * The worker side (this same file, run as a worker) imports the module,
 * calls the function and reports how the call ended and the heap it left.
 */

import v8 from 'node:v8';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

interface Job {
  module: string;
  name: string;
  args: unknown[];
}

export interface BoundedResult {
  ok: boolean;
  errorName?: string;
  errorMessage?: string;
  /** The worker's heap size after the call: close to its peak, as V8 shrinks the heap lazily. */
  heapMb: number;
  cpuMs: number;
}

export function runBounded(job: Job, limits: { maxOldMb: number; maxYoungMb: number; wallMs?: number }): Promise<BoundedResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: limits.maxOldMb, maxYoungGenerationSizeMb: limits.maxYoungMb },
    });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`no answer within ${limits.wallMs ?? 60_000} ms (hang)`));
    }, limits.wallMs ?? 60_000);
    worker.once('message', (r: BoundedResult) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(r);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const { module, name, args } = workerData as Job;
  void (async () => {
    const mod = (await import(module)) as Record<string, (...a: unknown[]) => unknown>;
    const cpu = process.cpuUsage();
    const done = (r: Omit<BoundedResult, 'heapMb' | 'cpuMs'>): void => {
      const used = process.cpuUsage(cpu);
      port.postMessage({ ...r, heapMb: v8.getHeapStatistics().total_heap_size / 1024 / 1024, cpuMs: (used.user + used.system) / 1000 });
    };
    try {
      await mod[name]!(...args);
      done({ ok: true });
    } catch (err) {
      const e = err as Error;
      done({ ok: false, errorName: e?.constructor?.name ?? typeof err, errorMessage: String(e?.message ?? err) });
    }
  })();
}
