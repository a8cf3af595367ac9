import os from 'node:os';
import { TooManyRequests } from '../../errors.js';

/** Twice the cores: bcrypt runs on libuv's thread pool, and a little queueing there keeps the cores busy. */
export function defaultVerifySlots(): number {
  return 2 * os.availableParallelism();
}

/** No verification slot was free: 429 like a throttled sign-in, but told apart in the audit log. */
export class VerifiersBusy extends TooManyRequests {}

/**
 * A cap on password verifications running at once. Each bcrypt compare holds
 * a CPU core for a quarter of a second at cost 12; without a cap a burst of
 * sign-ins queues behind libuv's four threads and starves every other request
 * that needs the pool (file reads, zlib, DNS). Excess attempts are refused at
 * once rather than queued: a queue would only move the wait into the client's
 * timeout and keep the memory of every waiting request.
 */
export class VerifySlots {
  private busy = 0;

  constructor(readonly max: number = defaultVerifySlots()) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`the number of concurrent sign-ins must be a positive integer, got ${max}`);
  }

  get inUse(): number {
    return this.busy;
  }

  /** Takes a slot or throws TooManyRequests; the returned function gives it back (once). */
  acquire(): () => void {
    if (this.busy >= this.max) throw new VerifiersBusy('the server is busy checking other sign-ins; try again in a moment', 1);
    this.busy++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.busy--;
    };
  }
}
