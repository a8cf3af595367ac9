/**
 * Small building blocks for polite upstream traffic: backoff with full jitter
 * (spreads retries of many workers instead of synchronising them on the same
 * instants), Retry-After parsing, an abortable sleep and a semaphore that caps
 * how many requests one upstream sees from us at once.
 */

import { abortError } from '../storage/streaming.js';

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** setTimeout as a promise that rejects with an AbortError when `signal` fires. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * "Full jitter" (AWS architecture blog): uniform in [0, min(cap, base·2^(n-1))]
 * for the n-th retry (n ≥ 1).
 */
export function backoffDelay(retry: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Retry-After as delta-seconds or an HTTP date, in milliseconds from `nowMs`
 * (never negative). undefined when absent or unparseable: the caller then
 * falls back to its own backoff rather than trusting a garbled header.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^[0-9]+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only accept things that look like dates: Date.parse takes "1" or "0x10" too.
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Counting semaphore; waiters are served in arrival order and can give up through their signal. */
export class Semaphore {
  private active = 0;
  private peak = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
  }

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** The highest number of holders at once since creation. */
  get maxInFlight(): number {
    return this.peak;
  }

  /** Resolves to a release function; calling it more than once is harmless. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw abortError(signal);
    if (this.active < this.limit) {
      this.active++;
      this.peak = Math.max(this.peak, this.active);
    } else {
      // The releasing holder hands its slot over without decrementing, so a
      // newcomer cannot slip in between the release and the waiter waking up.
      await this.wait(signal);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.active--;
    };
  }

  private wait(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(wake);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(abortError(signal));
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
