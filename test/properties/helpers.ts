/**
 * Shared by the property tests: one fixed seed (so a failure reproduces), run
 * counts, the "result or typed error, in bounded time and memory" check, and
 * a memory watch.
 *
 * Reproduce a failure with the seed and path fast-check prints:
 *   PROPERTY_SEED=<seed> npx ava dist/test/properties/<file>.test.js
 * Fuzz longer locally with PROPERTY_RUNS_SCALE=20 (multiplies every numRuns).
 */

import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import v8 from 'node:v8';
import vm from 'node:vm';
import { DomainError, IntegrityError, InvalidInput, LimitExceeded, NotFound } from '../../server/src/errors.js';

export const SEED = Number(process.env.PROPERTY_SEED ?? 20_260_801);
const RUNS_SCALE = Number(process.env.PROPERTY_RUNS_SCALE ?? 1);

/** The errors a parser may answer bad input with; anything else (TypeError, RangeError, plain Error) is a crash. */
export const PARSER_ERRORS = [InvalidInput, IntegrityError, LimitExceeded, NotFound] as const;
type ErrorClass = (typeof PARSER_ERRORS)[number];

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: DomainError };

/**
 * Runs `fn` and returns its result or its typed error. Throws (failing the
 * property) on an untyped error, a typed error without a message, a hang
 * (no answer within `wallMs`) or more than `cpuMs` of CPU time. CPU time, not
 * wall time, bounds the work: the machine may be shared and loaded, which
 * stretches wall time but not the work done. A synchronous hang cannot be
 * interrupted; the test's own timeout ends it.
 */
export async function outcome<T>(
  fn: () => T | Promise<T>,
  opts: { cpuMs: number; wallMs?: number; allowed?: readonly ErrorClass[] },
): Promise<Outcome<T>> {
  const allowed = opts.allowed ?? PARSER_ERRORS;
  const wallMs = opts.wallMs ?? 30_000;
  const started = process.cpuUsage();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${wallMs} ms (hang)`)), wallMs);
  });
  try {
    const value = await Promise.race([Promise.resolve().then(fn), hang]);
    checkCpu(started, opts.cpuMs);
    return { ok: true, value };
  } catch (err) {
    checkCpu(started, opts.cpuMs);
    if (err instanceof DomainError && allowed.some((c) => err instanceof c) && err.message.length > 0) {
      return { ok: false, error: err };
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function checkCpu(started: NodeJS.CpuUsage, cpuMs: number): void {
  const used = process.cpuUsage(started);
  const ms = (used.user + used.system) / 1000;
  if (ms > cpuMs) throw new Error(`used ${Math.round(ms)} ms of CPU, more than the bound of ${cpuMs} ms`);
}

/** gc() without a command-line flag, so memory deltas measure what is retained, not garbage. */
const gc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

const MB = 1024 * 1024;

export function heapAndExternal(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/**
 * Peak (sampled after each case, before collection) and retained (after a
 * full collection) growth of the JS heap plus external memory over a run.
 */
export class MemoryWatch {
  private readonly baseline: number;
  private peak = 0;

  constructor() {
    gc();
    this.baseline = heapAndExternal();
  }

  sample(): void {
    this.peak = Math.max(this.peak, heapAndExternal() - this.baseline);
  }

  /** Fails the test when the peak or retained growth exceed the bounds; returns the numbers for the log. */
  check(t: ExecutionContext, bounds: { peakMb: number; retainedMb: number }): string {
    this.sample();
    gc();
    const retained = heapAndExternal() - this.baseline;
    const summary = `memory peak +${(this.peak / MB).toFixed(1)} MB, retained +${(retained / MB).toFixed(1)} MB`;
    t.true(this.peak < bounds.peakMb * MB, `${summary}: peak bound is ${bounds.peakMb} MB`);
    t.true(retained < bounds.retainedMb * MB, `${summary}: retained bound is ${bounds.retainedMb} MB`);
    return summary;
  }
}

export interface PropertyOptions {
  numRuns: number;
  /** Bounds on heap + external growth over the whole run (defaults: 256 MB peak, 48 MB retained). */
  peakMb?: number;
  retainedMb?: number;
}

/**
 * fc.assert with the fixed seed, a case counter and the memory watch; logs
 * "seed S: N cases, memory ..." so the numbers reach the test report.
 */
export async function assertProperty<T>(
  t: ExecutionContext,
  arb: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<void> | void,
  opts: PropertyOptions,
): Promise<number> {
  let cases = 0;
  const memory = new MemoryWatch();
  const numRuns = Math.max(1, Math.round(opts.numRuns * RUNS_SCALE));
  await fc.assert(
    fc.asyncProperty(arb, async (value) => {
      cases++;
      await predicate(value);
      memory.sample();
    }),
    { seed: SEED, numRuns },
  );
  const summary = memory.check(t, { peakMb: opts.peakMb ?? 256, retainedMb: opts.retainedMb ?? 48 });
  t.log(`seed ${SEED}: ${cases} cases, ${summary}`);
  return cases;
}
