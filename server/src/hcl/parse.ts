import { Worker } from 'node:worker_threads';
import { HCL_INPUT_NAME, HclSyntaxError, hclDiagnostics, type HclDiagnostic } from './diagnostics.js';

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
  const tooDeep = nestingProblem(text);
  if (tooDeep) return Promise.reject(new HclSyntaxError([tooDeep], tooDeep.message));
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

/** Far beyond what configuration and definitions need (three or four levels). */
export const MAX_HCL_NESTING = 64;
/** Consecutive unary operators ("- - -1", "!!x"); a line of 256 dashes in a comment still passes. */
export const MAX_HCL_UNARY_RUN = 256;

/**
 * hcl2json's parser recurses once per bracket level and per unary operator,
 * on the JavaScript stack it runs on: past about 1,000 levels that overflows,
 * and after two such documents the Go runtime inside died ("malloc
 * deadlock"), leaving that parse unanswered and every later one failing. So
 * depth is bounded before the parser sees the text. Counting ignores strings
 * and comments (a "#" inside a string must not hide what follows it), which
 * only makes the bound stricter.
 */
function nestingProblem(text: string): HclDiagnostic | undefined {
  let depth = 0;
  let unary = 0;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x28 || c === 0x5b || c === 0x7b) depth++;
    else if ((c === 0x29 || c === 0x5d || c === 0x7d) && depth > 0) depth--;
    if (c === 0x2d || c === 0x21) unary++;
    else if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) unary = 0;
    if (depth > MAX_HCL_NESTING || unary > MAX_HCL_UNARY_RUN) {
      const message =
        depth > MAX_HCL_NESTING
          ? `brackets nested more than ${MAX_HCL_NESTING} levels deep`
          : `more than ${MAX_HCL_UNARY_RUN} unary operators in a row`;
      return { message, line, column: i - lineStart + 1 };
    }
    if (c === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return undefined;
}
