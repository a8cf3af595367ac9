/** An admin API call that did not succeed, as the views show it. */
export class ApiError extends Error {
  readonly status: number;
  /** Where a definition failed to parse (1-based), when the server says. */
  readonly line?: number;
  readonly column?: number;
  /** Seconds to wait before trying again (429 / 503 with Retry-After). */
  readonly retryAfter?: number;

  constructor(init: { status: number; message: string; line?: number; column?: number; retryAfter?: number }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    if (init.line !== undefined) this.line = init.line;
    if (init.column !== undefined) this.column = init.column;
    if (init.retryAfter !== undefined) this.retryAfter = init.retryAfter;
  }
}

function numberOr(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Retry-After as seconds: either delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The server answers `{"error":{"message","line","column",…}}`; anything else (a proxy's page) keeps the status. */
export function apiErrorFrom(response: Response, body: unknown): ApiError {
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  const fields = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const message =
    typeof fields.message === 'string' && fields.message !== ''
      ? fields.message
      : `${response.status} ${response.statusText || 'error'}`.trim();
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After')) ?? numberOr(fields.retryAfter);
  const line = numberOr(fields.line);
  const column = numberOr(fields.column);
  return new ApiError({
    status: response.status,
    message,
    ...(line !== undefined ? { line } : {}),
    ...(column !== undefined ? { column } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
  });
}
