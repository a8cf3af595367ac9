import type { FailureCount, LoginFailureRepository } from '../../db/login-failures.js';
import { TooManyRequests } from '../../errors.js';

export interface ThrottleOptions {
  /** Failures older than this no longer count. Default 15 min. */
  windowMs?: number;
  /** Failures of one username from one address before delays start. Default 5. */
  pairLimit?: number;
  /** Failures of one address across usernames (one place trying many accounts). Default 20. */
  ipLimit?: number;
  /**
   * Failures of one username from every address together. Much higher than
   * the pair limit: only a guessing run spread over many addresses reaches it,
   * and until then the real user, from an address of their own, signs in. Default 100.
   */
  usernameLimit?: number;
  /** The first delay; each further failure doubles it. Default 1 s. */
  baseDelayMs?: number;
  /** The longest delay (the lockout). Default 15 min. */
  maxDelayMs?: number;
  now?: () => number;
}

/** The throttle refused the attempt: 429, and audited as "throttled" rather than as a wrong password. */
export class LoginThrottled extends TooManyRequests {}

const MINUTE = 60_000;
// Pruning scans the table (no index on `at` alone), so it runs at most once a minute.
const PRUNE_INTERVAL_MS = MINUTE;

/**
 * Slows password guessing without handing anyone a way to lock an account.
 * Three counters, each with its own limit, over a sliding window: (username,
 * address), address, and username. Past a limit each attempt must wait an
 * exponentially growing delay after the latest failure of that counter, up
 * to maxDelayMs. A guesser at one address therefore throttles only itself:
 * the user behind another address meets the username counter alone, whose
 * limit is far above what one address can reach.
 *
 * Failures live in the database, so a restart does not reset them. A
 * throttled attempt is refused before the password is checked and is not
 * itself recorded, so waiting out the delay always helps.
 *
 * Concurrent attempts for one (username, address) are refused while one is
 * in flight: otherwise a burst of parallel requests would all pass the check
 * before the first failure was written. Keyed by the pair, so a burst from
 * elsewhere does not block the real user either.
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
      pairLimit: options.pairLimit ?? 5,
      ipLimit: options.ipLimit ?? 20,
      usernameLimit: options.usernameLimit ?? 100,
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
    const key = JSON.stringify([username.toLowerCase(), ip]);
    if (this.inFlight.has(key)) throw new LoginThrottled('another sign-in for this user from this address is in progress; try again shortly', 1);
    const waitMs = this.waitMs(username, ip);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      throw new LoginThrottled(`too many failed sign-ins; try again in ${seconds} s`, seconds);
    }
    this.inFlight.add(key);
    return () => this.inFlight.delete(key);
  }

  /** Milliseconds this attempt must still wait (0: go ahead). */
  waitMs(username: string, ip: string): number {
    const now = this.o.now();
    const since = now - this.o.windowMs;
    return Math.max(
      this.remaining(this.failures.countForPair(username, ip, since), this.o.pairLimit, now),
      this.remaining(this.failures.countForIp(ip, since), this.o.ipLimit, now),
      this.remaining(this.failures.countForUsername(username, since), this.o.usernameLimit, now),
    );
  }

  recordFailure(username: string, ip: string): void {
    const now = this.o.now();
    this.failures.record(username, ip, now);
    if (now - this.lastPrune >= PRUNE_INTERVAL_MS) {
      this.lastPrune = now;
      this.failures.prune(now - this.o.windowMs);
    }
  }

  /**
   * A correct password clears that username's failures from that address
   * only: failures from elsewhere may be someone else's guessing, and they
   * must keep counting towards the username ceiling.
   */
  recordSuccess(username: string, ip: string): void {
    this.failures.clearPair(username, ip);
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
