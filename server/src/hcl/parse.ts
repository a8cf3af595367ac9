import { Worker } from 'node:worker_threads';

/**
 * Parses HCL to JSON with hcl2json on a worker thread, so a large document
 * uploaded to the admin API does not stall the mirror's read path. One worker
 * is started on first use and kept (unref'd: it never holds the process open).
 * Errors come back as Errors with hcl2json's message, positions included.
 */
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
    if (msg.error !== undefined) p.reject(new Error(msg.error));
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

export function parseHclOffThread(file: string, text: string): Promise<Record<string, unknown>> {
  const w = getWorker();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve: (v) => resolve(v as Record<string, unknown>), reject });
    // Referenced while a parse is outstanding, so a one-shot command waits for it.
    w.ref();
    w.postMessage({ id, file, text });
  });
}
