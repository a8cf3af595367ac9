/**
 * Errors specific to talking to an upstream registry. All but UnknownUpstream
 * are UpstreamErrors (server/src/errors.ts): the upstream's fault, which the
 * one error middleware answers with 502 (504 for a timeout), never with the
 * 4xx that would blame the client. `retryable` tells the job queue whether
 * asking again can help (jobs/retryable.ts reads it duck-typed).
 *
 * Messages name the upstream and say what was expected and what came
 * (status, content type, size); they never quote the upstream's bytes, and
 * URLs appear through describeUrl, without their query (presigned download
 * URLs carry credentials there).
 */

import { InvalidInput, Unavailable, UpstreamError } from '../errors.js';

const MAX_PATH_IN_MESSAGES = 200;

/** host[:port] of a URL, for UpstreamError.upstream and metric-free messages; '' when unparseable. */
export function upstreamOf(url: string | URL | undefined): string {
  if (url === undefined) return '';
  try {
    return (typeof url === 'string' ? new URL(url) : url).host;
  } catch {
    return '';
  }
}

/** A URL as messages show it: scheme, host and a bounded path; no credentials, query or fragment. */
export function describeUrl(url: string | URL): string {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return '(an invalid URL)';
  }
  const path = u.pathname.length > MAX_PATH_IN_MESSAGES ? `${u.pathname.slice(0, MAX_PATH_IN_MESSAGES)}…` : u.pathname;
  return `${u.protocol}//${u.host}${path}`;
}

/** A Content-Type as messages show it: the media type only, bounded, or "no Content-Type". */
export function describeContentType(raw: string): string {
  const media = /^[A-Za-z0-9!#$&^_.+-]{1,64}\/[A-Za-z0-9!#$&^_.+-]{1,64}/.exec(raw.trim())?.[0];
  return media ?? (raw.trim() === '' ? 'no Content-Type' : 'an unrecognised Content-Type');
}

/**
 * The upstream could not be reached or kept failing (network errors, 5xx,
 * 429 after the retries), or answered with a status we cannot use.
 * `status` is the last HTTP status seen, when there was one.
 */
export class UpstreamUnavailable extends UpstreamError {
  constructor(
    message: string,
    readonly details: { url?: string; status?: number; attempts?: number } = {},
    options?: ErrorOptions,
  ) {
    super(message, upstreamOf(details.url), options);
  }
}

/** The upstream did not connect, answer or keep sending within our time limits (504). */
export class UpstreamTimeout extends UpstreamUnavailable {}

/**
 * An upstream answer that breaks the Provider Registry Protocol (a shasum that
 * is not 64 hex digits, a platform that does not echo the request, no signing
 * keys, a body that is not JSON...). Asking again will not change it.
 */
export class InvalidUpstreamResponse extends UpstreamError {
  readonly retryable = false;

  constructor(
    readonly url: string,
    problem: string,
  ) {
    super(`invalid response from ${describeUrl(url)}: ${problem}`, upstreamOf(url));
  }
}

/** An upstream answer larger than we accept for its kind: the upstream's excess, not the client's input. */
export class UpstreamTooLarge extends UpstreamError {
  readonly retryable = false;

  constructor(message: string, url: string) {
    super(message, upstreamOf(url));
  }
}

/**
 * A body that ended before its announced length: the bytes are incomplete,
 * not wrong, so asking again usually works (the job queue retries it).
 */
export class TruncatedResponse extends UpstreamError {
  readonly retryable = true;

  constructor(message: string, url: string) {
    super(message, upstreamOf(url));
  }
}

/**
 * A URL the upstream led us to (a document field or a redirect) that this
 * mirror will not fetch: not HTTPS, credentials in it, or an address on
 * loopback, link-local or a private network while the upstream itself is not
 * on one. Nothing was sent to it.
 */
export class UpstreamRefused extends UpstreamError {
  readonly retryable = false;

  constructor(message: string, upstream: string) {
    super(message, upstream);
  }
}

/**
 * A definition, custom resource or request names a registry hostname that has
 * no upstream: the caller's mistake (400), found before any network call.
 */
export class UnknownUpstream extends InvalidInput {
  constructor(readonly hostname: string) {
    super(`hostname ${hostname} has no upstream block; add \`upstream "${hostname}" {}\` to mirror it`, { key: 'hostname' });
  }
}

/**
 * An upstream is being left alone (it answered 429/503 with Retry-After, or
 * kept failing): the request needed it, so it is answered at once with 503
 * and Retry-After instead of waiting behind a dead or rate-limiting upstream.
 * An Unavailable, not an UpstreamError: nothing was sent, and the client may
 * simply try again after `retryAfterSeconds`.
 */
export class UpstreamBackingOff extends Unavailable {
  declare readonly retryAfterSeconds: number;

  constructor(
    readonly hostname: string,
    retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super(`upstream ${hostname} is unavailable; not asking it again for ${seconds} s`, { ...options, retryAfterSeconds: seconds });
  }
}

/**
 * A release or archive an upstream served that failed Terraform's checks
 * (signature, SHA256SUMS, sha256), met on a client's read: the upstream is at
 * fault (502), not the client's request (which a 422 would blame). The
 * message names the check; the write path keeps the plain IntegrityError.
 */
export class UpstreamIntegrityFailure extends UpstreamError {
  readonly retryable = false;

  constructor(hostname: string, cause: Error) {
    super(`upstream ${hostname} served a release that failed verification: ${cause.message}`, hostname, { cause });
  }
}
