/**
 * Per-upstream health for the read path. A client waiting on a miss must not
 * wait for an upstream that is rate-limiting us or down: after a 429/503 with
 * Retry-After nothing is sent to it until then; after failures without one,
 * nothing for 1 s, doubling per consecutive failure up to a cap. Meanwhile a
 * request that needs it fails at once with UpstreamBackingOff (503 with
 * Retry-After). When the wait is over one request probes it; the others keep
 * being refused until the probe answers, so a dead upstream never has a crowd
 * of requests piling up on its timeouts.
 */

import type { UpstreamHealthState } from './ports.js';
import { TruncatedResponse, UpstreamBackingOff, UpstreamUnavailable } from '../upstream/errors.js';

export interface UpstreamHealthOptions {
  now?: () => number;
  /** First backoff after a failure without Retry-After (default 1 s); doubles per consecutive failure. */
  backoffBaseMs?: number;
  /** Longest backoff without Retry-After (default 60 s). */
  backoffCapMs?: number;
  /** Longest Retry-After honoured (default 1 h): an upstream cannot shut a mirror's misses off for days. */
  retryAfterCapMs?: number;
}

interface Entry {
  consecutiveFailures: number;
  /** Until when nothing is sent (ms since epoch); 0 when up. */
  retryAt: number;
  probing: boolean;
}

/** What a failure says about the upstream: whether it counts, and how long it asked us to wait. */
export interface FailureVerdict {
  counts: boolean;
  retryAfterMs?: number;
}

export class UpstreamHealth {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly retryAfterCapMs: number;

  constructor(opts: UpstreamHealthOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.baseMs = opts.backoffBaseMs ?? 1000;
    this.capMs = opts.backoffCapMs ?? 60_000;
    this.retryAfterCapMs = opts.retryAfterCapMs ?? 60 * 60 * 1000;
  }

  /** Whether a request may be sent now (no probe is taken). */
  isBackingOff(hostname: string): boolean {
    const e = this.entries.get(hostname);
    return e !== undefined && (this.now() < e.retryAt || e.probing);
  }

  state(hostname: string): UpstreamHealthState {
    const e = this.entries.get(hostname);
    if (e === undefined || !this.isBackingOff(hostname)) {
      return { hostname, state: 'up', consecutiveFailures: e?.consecutiveFailures ?? 0 };
    }
    return { hostname, state: 'backing_off', retryAt: Math.max(e.retryAt, this.now()), consecutiveFailures: e.consecutiveFailures };
  }

  /**
   * Runs one request to `hostname` and learns from how it ends. Throws
   * UpstreamBackingOff without calling `send` while the upstream is left alone.
   */
  async run<T>(hostname: string, send: () => Promise<T>): Promise<T> {
    const e = this.entries.get(hostname);
    let probe = false;
    if (e !== undefined && e.consecutiveFailures > 0) {
      const wait = e.retryAt - this.now();
      if (wait > 0) throw new UpstreamBackingOff(hostname, wait / 1000);
      // Past the wait: the first request finds out whether it is back; the rest do not join it.
      if (e.probing) throw new UpstreamBackingOff(hostname, 1);
      e.probing = probe = true;
    }
    try {
      const value = await send();
      this.succeeded(hostname);
      return value;
    } catch (err) {
      const verdict = this.failed(hostname, err);
      // Asked to wait: the client hears when to come back (503 + Retry-After), not just that it failed.
      if (verdict.retryAfterMs !== undefined) {
        const retryAt = this.entries.get(hostname)?.retryAt ?? this.now();
        throw new UpstreamBackingOff(hostname, (retryAt - this.now()) / 1000, { cause: err });
      }
      throw err;
    } finally {
      if (probe) {
        const after = this.entries.get(hostname);
        if (after) after.probing = false;
      }
    }
  }

  succeeded(hostname: string): void {
    this.entries.delete(hostname);
  }

  /** Records a failure if it is the upstream's (unreachable, 5xx, 429, timeout, cut body); others leave health alone. */
  failed(hostname: string, err: unknown): FailureVerdict {
    const verdict = judge(err);
    if (!verdict.counts) return verdict;
    const e = this.entries.get(hostname) ?? { consecutiveFailures: 0, retryAt: 0, probing: false };
    e.consecutiveFailures++;
    const wait =
      verdict.retryAfterMs !== undefined
        ? Math.min(verdict.retryAfterMs, this.retryAfterCapMs)
        : Math.min(this.capMs, this.baseMs * 2 ** Math.min(30, e.consecutiveFailures - 1));
    e.retryAt = Math.max(e.retryAt, this.now() + wait);
    this.entries.set(hostname, e);
    return verdict;
  }
}

/**
 * UpstreamUnavailable covers network errors, timeouts and error statuses; the
 * HTTP client keeps the last 429/503's Retry-After on its cause. NotFound, a
 * protocol violation or a bad signature are answers, not outages: backing off
 * would not change them. A caller's abort says nothing about the upstream.
 */
export function judge(err: unknown): FailureVerdict {
  if (err instanceof TruncatedResponse) return { counts: true };
  if (!(err instanceof UpstreamUnavailable)) return { counts: false };
  const status = err.details.status;
  const asked = retryAfterOf(err);
  if ((status === 429 || status === 503) && asked !== undefined) return { counts: true, retryAfterMs: asked };
  return { counts: true };
}

/** The Retry-After (ms) the HTTP client parsed from the last answer, kept on the error it wrapped. */
function retryAfterOf(err: Error): number | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    const details = (e as { details?: { retryAfterMs?: unknown } }).details;
    if (typeof details?.retryAfterMs === 'number') return details.retryAfterMs;
  }
  return undefined;
}
