/**
 * Response bodies from an upstream we do not control: bounded in size, watched
 * for stalls, and checked for completeness. A body that stops early is a
 * TruncatedResponse (the bytes are not what the server promised), not a quiet
 * short file that a later checksum would have to explain. All of these are the
 * upstream's failures (UpstreamError), never the client's.
 */

import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { abortError } from '../storage/streaming.js';
import { TruncatedResponse, UpstreamTimeout, UpstreamTooLarge, describeUrl } from './errors.js';

export type BodyOutcome = 'ok' | 'truncated' | 'too_large' | 'timeout' | 'aborted';

export interface BodyGuard {
  url: string;
  maxBytes: number;
  /** Longest pause in the data while the consumer is reading. */
  idleTimeoutMs: number;
  /** Optional limit on the whole body (buffered documents). */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** Called exactly once when the body is done, for whatever reason. */
  onSettled: (outcome: BodyOutcome) => void;
}

/** The declared Content-Length, or undefined when absent (chunked) or garbled. */
export function contentLengthOf(res: IncomingMessage): number | undefined {
  const raw = res.headers['content-length'];
  if (raw === undefined || !/^[0-9]+$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * Wraps `res` in a Readable that enforces the guard. Backpressure is kept:
 * the response is only resumed when the consumer asks for more, and a paused
 * response never counts as idle (a slow consumer is not a stalled upstream).
 */
export function guardBody(res: IncomingMessage, guard: BodyGuard): Readable {
  const declared = contentLengthOf(res);
  let received = 0;
  let settled = false;
  let idleTimer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;

  const out = new Readable({
    read: () => {
      res.resume();
    },
    destroy: (err, callback) => {
      settle(err ? outcomeOf(err) : 'aborted');
      res.destroy();
      callback(err);
    },
  });

  const settle = (outcome: BodyOutcome) => {
    if (settled) return;
    settled = true;
    clearTimeout(idleTimer);
    clearTimeout(deadlineTimer);
    guard.signal?.removeEventListener('abort', onAbort);
    guard.onSettled(outcome);
  };
  const fail = (err: Error) => {
    settle(outcomeOf(err));
    out.destroy(err);
  };
  const truncated = () =>
    new TruncatedResponse(
      `truncated response from ${describeUrl(guard.url)}: received ${received} bytes` +
        (declared === undefined ? ' before the connection closed' : ` of the ${declared} announced by Content-Length`),
      guard.url,
    );
  const armIdle = () => {
    clearTimeout(idleTimer);
    if (settled) return;
    idleTimer = setTimeout(() => {
      if (res.isPaused()) armIdle();
      else fail(new UpstreamTimeout(`no data from ${describeUrl(guard.url)} for ${guard.idleTimeoutMs / 1000} s`, { url: guard.url }));
    }, guard.idleTimeoutMs);
  };
  const onAbort = () => fail(abortError(guard.signal));

  res.pause();
  res.on('data', (chunk: Buffer) => {
    if (settled) return;
    received += chunk.length;
    if (received > guard.maxBytes) {
      fail(new UpstreamTooLarge(`response from ${describeUrl(guard.url)} exceeds ${guard.maxBytes} bytes`, guard.url));
      return;
    }
    armIdle();
    if (!out.push(chunk)) res.pause();
  });
  res.on('end', () => {
    if (declared !== undefined && received < declared) {
      fail(truncated());
      return;
    }
    settle('ok');
    out.push(null);
  });
  // Node reports a connection cut mid-body as an "aborted" error, or only as
  // a close without 'end'; both mean the body is incomplete.
  res.on('error', () => fail(truncated()));
  res.on('close', () => {
    if (!res.complete) fail(truncated());
  });

  if (guard.signal?.aborted) {
    onAbort();
    return out;
  }
  guard.signal?.addEventListener('abort', onAbort, { once: true });
  if (guard.deadlineMs !== undefined) {
    const ms = guard.deadlineMs;
    deadlineTimer = setTimeout(
      () => fail(new UpstreamTimeout(`response from ${describeUrl(guard.url)} took more than ${ms / 1000} s`, { url: guard.url })),
      ms,
    );
  }
  armIdle();
  return out;
}

function outcomeOf(err: Error): BodyOutcome {
  if (err instanceof UpstreamTooLarge) return 'too_large';
  if (err instanceof TruncatedResponse) return 'truncated';
  if (err instanceof UpstreamTimeout) return 'timeout';
  return 'aborted';
}

/** Reads a guarded body to the end. */
export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
