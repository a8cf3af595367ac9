import { Worker } from 'node:worker_threads';
import { HCL_INPUT_NAME, HclSyntaxError, hclDiagnostics } from './diagnostics.js';

export { HclSyntaxError, type HclDiagnostic } from './diagnostics.js';

/**
 * The one HCL parse entry, for configuration files and provider definitions
 * alike: hcl2json (the real HCL parser, Go compiled to WebAssembly) on a
 * worker thread, because it runs synchronously for about a second per
 * 100 KiB and a large document uploaded to the admin API must not stall the
 * mirror's read path. One worker is started on first use and kept (unref'd:
 * it never holds the process open); it also keeps the half-second load of
 * the WebAssembly parser off commands that never parse HCL.
 *
 * Resolves with hcl2json's JSON; rejects with HclSyntaxError when the text is
 * not HCL, or with a plain Error when the parser thread itself failed.
 */
export function parseHcl(text: string): Promise<Record<string, unknown>> {
  const w = getWorker();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve: (v) => resolve(v as Record<string, unknown>), reject });
    // Referenced while a parse is outstanding, so a one-shot command waits for it.
    w.ref();
    w.postMessage({ id, file: HCL_INPUT_NAME, text });
  });
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

function getWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./parse-worker.js', import.meta.url));
  w.unref();
  w.on('message', (msg: { id: number; value?: unknown; error?: string }) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new HclSyntaxError(hclDiagnostics(msg.error), msg.error));
    else p.resolve(msg.value);
    if (pending.size === 0) w.unref();
  });
  w.on('error', (err) => failAll(err));
  w.on('exit', () => {
    if (worker === w) worker = undefined;
    failAll(new Error('the HCL parser thread exited'));
  });
  worker = w;
  return w;
}

function failAll(err: Error): void {
  for (const p of pending.values()) p.reject(err);
  pending.clear();
}
