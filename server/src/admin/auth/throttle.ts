import type { FailureCount, LoginFailureRepository } from '../../db/users.js';
import { TooManyRequests } from '../../errors.js';

export interface ThrottleOptions {
  /** Failures older than this no longer count. Default 15 min. */
  windowMs?: number;
  /** Failures per username before delays start. Default 5. */
  usernameLimit?: number;
  /** Failures per client address before delays start (many usernames from one place). Default 20. */
  ipLimit?: number;
  /** The first delay; each further failure doubles it. Default 1 s. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
}

const MINUTE = 60_000;
// Pruning scans the table (no index on `at` alone), so it runs at most once a minute.
const PRUNE_INTERVAL_MS = MINUTE;

/**
 * Slows password guessing. Past the limit for a username (or a client
 * address), each attempt must wait an exponentially growing delay after the
 * latest failure. Failures live in the database, so a restart does not reset
 * them. A throttled attempt is refused before the password is checked and is
 * not itself recorded, so waiting out the delay always helps.
 *
 * Concurrent attempts for one username are refused while one is in flight:
 * otherwise a burst of parallel requests would all pass the check before the
 * first failure was written.
 */
export class LoginThrottle {
  private readonly o: Required<ThrottleOptions>;
  private readonly inFlight = new Set<string>();
  private lastPrune = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly failures: LoginFailureRepository,
    options: ThrottleOptions = {},
  ) {
    this.o = {
      windowMs: options.windowMs ?? 15 * MINUTE,
      usernameLimit: options.usernameLimit ?? 5,
      ipLimit: options.ipLimit ?? 20,
      baseDelayMs: options.baseDelayMs ?? 1_000,
      maxDelayMs: options.maxDelayMs ?? 15 * MINUTE,
      now: options.now ?? Date.now,
    };
  }

  /**
   * Admits one attempt or throws TooManyRequests with the seconds to wait.
   * The returned function must be called when the attempt is over.
   */
  acquire(username: string, ip: string): () => void {
    const key = username.toLowerCase();
    if (this.inFlight.has(key)) throw new TooManyRequests('another sign-in for this user is in progress; try again shortly', 1);
    const waitMs = this.waitMs(username, ip);
    if (waitMs > 0) {
      throw new TooManyRequests(`too many failed sign-ins; try again in ${Math.ceil(waitMs / 1000)} s`, Math.ceil(waitMs / 1000));
    }
    this.inFlight.add(key);
    return () => this.inFlight.delete(key);
  }

  /** Milliseconds this attempt must still wait (0: go ahead). */
  waitMs(username: string, ip: string): number {
    const now = this.o.now();
    const since = now - this.o.windowMs;
    const byUser = this.remaining(this.failures.countForUsername(username, since), this.o.usernameLimit, now);
    const byIp = this.remaining(this.failures.countForIp(ip, since), this.o.ipLimit, now);
    return Math.max(byUser, byIp);
  }

  recordFailure(username: string, ip: string): void {
    const now = this.o.now();
    this.failures.record(username, ip, now);
    if (now - this.lastPrune >= PRUNE_INTERVAL_MS) {
      this.lastPrune = now;
      this.failures.prune(now - this.o.windowMs);
    }
  }

  /** A correct password clears the username's failures (not the address's: it may be shared by an attacker). */
  recordSuccess(username: string): void {
    this.failures.clearUsername(username);
  }

  private remaining(f: FailureCount, limit: number, now: number): number {
    if (f.count < limit || f.last === null) return 0;
    return Math.max(0, f.last + this.delayAfter(f.count - limit) - now);
  }

  /** 1 s, 2 s, 4 s … for the 1st, 2nd, 3rd … failure past the limit, capped. */
  private delayAfter(extraFailures: number): number {
    return Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** Math.min(extraFailures, 30));
  }
}
