import { Conflict, IntegrityError, InvalidInput, LimitExceeded, NotFound } from '../errors.js';

/**
 * What an error may say about retrying, duck-typed so that upstream client
 * errors need not extend anything: `retryable = false` for failures that will
 * not fix themselves, `retryAfterMs` for a server's Retry-After.
 */
export interface RetryHints {
  retryable?: boolean;
  retryAfterMs?: number;
}

/**
 * Failures that repeat identically on every attempt: a bad signature, a
 * malformed definition, different bytes under a published version, an archive
 * over the limits, a version upstream does not have. Retrying them only delays
 * the error report.
 */
const permanent = [IntegrityError, InvalidInput, Conflict, LimitExceeded, NotFound];

/** Unknown errors are retryable: network failures surface as plain Errors (fetch's TypeError). */
export function isRetryable(err: unknown): boolean {
  const hinted = hints(err).retryable;
  if (typeof hinted === 'boolean') return hinted;
  return !permanent.some((cls) => err instanceof cls);
}

/** The least delay the error asks for (Retry-After), or 0. */
export function retryAfterMs(err: unknown): number {
  const ms = hints(err).retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : 0;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function hints(err: unknown): RetryHints {
  return typeof err === 'object' && err !== null ? (err as RetryHints) : {};
}
