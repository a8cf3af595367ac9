/**
 * Typed domain errors. They carry no HTTP status: the error middleware in
 * http/ maps them to responses in exactly one place, and the CLI maps them to
 * exit codes and messages.
 */

export class DomainError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The thing asked for does not exist (or is hidden, e.g. a blocked provider). */
export class NotFound extends DomainError {}

/** Input failed validation. `line`/`column` are 1-based when the source format gives them. */
export class InvalidInput extends DomainError {
  constructor(
    message: string,
    readonly details: { file?: string; line?: number; column?: number; key?: string } = {},
  ) {
    super(message);
  }
}

/** The request conflicts with what is stored (e.g. different bytes under a published version). */
export class Conflict extends DomainError {}

/** Bytes failed an integrity check: checksum, h1 mismatch, signature, malformed archive. */
export class IntegrityError extends DomainError {}

/** A bound on untrusted input was exceeded (size, count, ratio). */
export class LimitExceeded extends DomainError {}

/**
 * A dependency of ours (storage, database) cannot be used right now. The
 * client did nothing wrong and may try again: 503 with Retry-After
 * (`retryAfterSeconds`, else a short default).
 */
export class Unavailable extends DomainError {
  readonly retryAfterSeconds?: number;

  constructor(message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(message, options);
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * An upstream registry failed us: unreachable, an error status, an answer
 * that breaks the protocol, oversized or truncated, or a URL it handed out
 * that we refuse to fetch. The upstream's fault, never the client's (502, or
 * 504 for UpstreamTimeout in upstream/errors.ts). `upstream` names it (host
 * and port, never a path or query). Messages say what was expected and what
 * came (status, content type, size), never the upstream's bytes.
 */
export class UpstreamError extends DomainError {
  constructor(
    message: string,
    readonly upstream: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** No valid credentials were presented. */
export class Unauthorized extends DomainError {}

/** The credentials are valid but their role may not do this. */
export class Forbidden extends DomainError {}

/** The caller must wait (login throttling); `retryAfterSeconds` becomes Retry-After. */
export class TooManyRequests extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
