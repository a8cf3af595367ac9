import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from '../errors.js';

/**
 * Counts bytes on their way to storage and enforces an expected length.
 * The check runs inside the stream, before the sink sees end-of-data, so a
 * short or long body fails the upload itself rather than being caught after
 * publication: nothing under the key ever holds the wrong bytes.
 */
export class ByteCounter extends Transform {
  bytes = 0;

  constructor(
    private readonly key: string,
    private readonly expected?: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    this.bytes += buf.length;
    // Fail as soon as the body is too long instead of storing an oversized object first.
    if (this.expected !== undefined && this.bytes > this.expected) {
      callback(sizeMismatch(this.key, this.expected, `more than ${this.expected}`));
      return;
    }
    callback(null, buf);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expected !== undefined && this.bytes !== this.expected) {
      callback(sizeMismatch(this.key, this.expected, String(this.bytes)));
      return;
    }
    callback();
  }
}

export function sizeMismatch(key: string, expected: number, got: string | number): IntegrityError {
  return new IntegrityError(`object ${JSON.stringify(key)}: expected ${expected} bytes, got ${got}`);
}

/**
 * A plain Error named AbortError, like Node's own, carrying the signal's reason as cause:
 * `signal.reason` is by default a DOMException, which callers and test tools do not treat as an Error.
 */
export function abortError(signal: AbortSignal | undefined): Error {
  return Object.assign(new Error('the operation was aborted', { cause: signal?.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

/**
 * Waits for a shared promise on behalf of one caller: the caller's abort
 * rejects only its own wait, never the work others are waiting for too.
 */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
