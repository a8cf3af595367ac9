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

/** A dependency we need (storage, database, upstream) cannot be reached. */
export class Unavailable extends DomainError {}

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
