/**
 * Errors specific to talking to an upstream registry. They stay inside the
 * shared hierarchy (server/src/errors.ts) so the one error middleware maps
 * them without knowing about upstream: an upstream that cannot be used is
 * Unavailable to our callers, whatever the reason on the wire.
 */

import { IntegrityError, Unavailable } from '../errors.js';

/**
 * The upstream could not be reached or kept failing (network errors, timeouts,
 * 5xx, 429 after the retries), or answered with a status we cannot use.
 * `status` is the last HTTP status seen, when there was one.
 */
export class UpstreamUnavailable extends Unavailable {
  constructor(
    message: string,
    readonly details: { url?: string; status?: number; attempts?: number } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * An upstream answer that breaks the Provider Registry Protocol (a shasum that
 * is not 64 hex digits, a platform that does not echo the request, no signing
 * keys...). An IntegrityError: the metadata cannot be trusted, and asking
 * again will not change that.
 */
export class InvalidUpstreamResponse extends IntegrityError {
  constructor(
    readonly url: string,
    problem: string,
  ) {
    super(`invalid response from ${url}: ${problem}`);
  }
}

/**
 * A body that ended before its announced length: the bytes are incomplete,
 * not wrong, so asking again usually works (the job queue retries it).
 */
export class TruncatedResponse extends IntegrityError {
  readonly retryable = true;
}
