/**
 * Per-item retry delays: exponential, capped, with jitter so that items which
 * failed together (an upstream outage) do not all come back at the same instant.
 */
export interface BackoffOptions {
  /** Delay before the second attempt, before jitter. Default 1 s. */
  baseMs?: number;
  factor?: number;
  /** Upper bound of any delay. Default 5 min. */
  capMs?: number;
  /**
   * full: uniform in [0, d] — spreads retries best, but may retry at once.
   * equal: uniform in [d/2, d] — keeps a floor, the default: a retry should
   * give an ailing upstream some time. none: exactly d (tests, diagnostics).
   */
  jitter?: 'full' | 'equal' | 'none';
  /** Uniform in [0, 1); injectable for tests. */
  random?: () => number;
}

const defaults = { baseMs: 1_000, factor: 2, capMs: 5 * 60_000, jitter: 'equal', random: Math.random } as const;

/** The delay in ms before the next attempt, given how many attempts were already made (1 after the first failure). */
export function nextAttemptDelay(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs, factor, capMs, jitter, random } = { ...defaults, ...options };
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const ceiling = Math.min(capMs, baseMs * factor ** exponent);
  switch (jitter) {
    case 'full':
      return Math.round(random() * ceiling);
    case 'equal':
      return Math.round(ceiling / 2 + (random() * ceiling) / 2);
    case 'none':
      return Math.round(ceiling);
  }
}

/** A delay function with the options bound, the shape WorkerPool takes. */
export function createBackoff(options: BackoffOptions = {}): (attempt: number) => number {
  return (attempt) => nextAttemptDelay(attempt, options);
}
