/**
 * The HTTP client for upstream registries, on node:http/node:https so a CA can
 * be injected (tests; production trusts NODE_EXTRA_CA_CERTS through Node's
 * defaults). Every request is bounded: connect and response timeouts, body
 * size limits, redirect limits, a per-client concurrency cap, and retries with
 * backoff that honour the upstream's Retry-After instead of hammering it.
 */

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { NotFound, UpstreamError } from '../errors.js';
import { abortError } from '../storage/streaming.js';
import { InvalidUpstreamResponse, UpstreamRefused, UpstreamTimeout, UpstreamTooLarge, UpstreamUnavailable, describeContentType, describeUrl } from './errors.js';
import { type BodyOutcome, contentLengthOf, guardBody, readAll } from './http-body.js';
import { type ReachOptions, STRICT_REACH, guardedLookup, parseUrl, refusalOf, refused } from './reach.js';
import { type Sleep, Semaphore, backoffDelay, parseRetryAfter, realSleep } from './retry.js';

export interface HttpClientOptions {
  /** Extra CA certificate(s) to trust; replaces Node's default roots for this client. */
  ca?: string | Buffer;
  /** Sent on every request (e.g. credentials later); dropped on redirects to another origin. */
  headers?: Record<string, string>;
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Longest Retry-After we wait for; a longer one gives up at once. */
  retryAfterCapMs?: number;
  /** Requests in flight at once through this client (held while a body streams). */
  concurrency?: number;
  connectTimeoutMs?: number;
  /** From connection to response headers, and for buffered documents to the end of the body. */
  responseTimeoutMs?: number;
  /** Longest stall in a streamed body. */
  idleTimeoutMs?: number;
  sleep?: Sleep;
  now?: () => number;
  random?: () => number;
  /** Where requests may go (default: HTTPS only, no loopback, link-local or private addresses). */
  reach?: ReachOptions;
}

export interface RequestOptions {
  signal?: AbortSignal;
  maxRedirects?: number;
}

export interface BufferedResponse {
  /** The URL that answered, after redirects: relative URLs in the body resolve against it. */
  url: string;
  contentType: string;
  body: Buffer;
  /** The final response's status and headers (a module download's 204 says everything in X-Terraform-Get). */
  status: number;
  headers: http.IncomingHttpHeaders;
}

export interface StreamedResponse {
  url: string;
  contentLength: number | undefined;
  body: Readable;
}

export type RequestResult =
  | 'ok'
  | 'not_found'
  | 'client_error'
  | 'server_error'
  | 'rate_limited'
  | 'network_error'
  /** Not sent: a URL or address this mirror does not fetch (reach.ts). */
  | 'refused'
  | BodyOutcome;

export interface HttpStats {
  attempts: number;
  retries: number;
  inFlight: number;
  waiting: number;
  maxInFlight: number;
  results: Record<RequestResult, number>;
}

export const DEFAULT_DOWNLOAD_LIMIT = 2 * 1024 ** 3;

/** A failure worth another attempt; `exhausted` is what to throw when none are left. */
class Retryable extends Error {
  constructor(
    message: string,
    readonly details: { status?: number; retryAfterMs?: number; exhausted?: Error; result?: RequestResult; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Transient by nature; 501/505 say the request itself will never work.
const RETRYABLE_5XX = new Set([500, 502, 503, 504, 507, 508, 509, 520, 521, 522, 523, 524]);
// Certificate problems and unknown hosts do not heal in the next second.
const PERMANENT_NETWORK_CODES = /^(ENOTFOUND|CERT_|ERR_TLS_CERT|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_INVALID_URL)/;

export class HttpClient {
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly slots: Semaphore;
  private readonly o: Required<Omit<HttpClientOptions, 'ca' | 'headers' | 'reach'>> & { headers: Record<string, string> };
  private readonly reach: ReachOptions;
  private readonly counts = { attempts: 0, retries: 0, results: {} as Record<RequestResult, number> };

  constructor(options: HttpClientOptions = {}) {
    this.o = {
      headers: options.headers ?? {},
      maxAttempts: options.maxAttempts ?? 4,
      backoffBaseMs: options.backoffBaseMs ?? 250,
      backoffCapMs: options.backoffCapMs ?? 10_000,
      retryAfterCapMs: options.retryAfterCapMs ?? 60_000,
      concurrency: options.concurrency ?? 4,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      responseTimeoutMs: options.responseTimeoutMs ?? 10_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      sleep: options.sleep ?? realSleep,
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
    };
    this.slots = new Semaphore(this.o.concurrency);
    this.reach = options.reach ?? STRICT_REACH;
    // The check runs where the address is known: in the agents' lookup, for every new connection.
    const lookup = guardedLookup(this.reach, (host, address, range) => refused(host, address, range));
    this.agents = {
      http: new http.Agent({ keepAlive: true, lookup }),
      https: new https.Agent({ keepAlive: true, lookup, ...(options.ca === undefined ? {} : { ca: options.ca }) }),
    };
    for (const r of ['ok', 'not_found', 'client_error', 'server_error', 'rate_limited', 'network_error', 'refused', 'truncated', 'too_large', 'timeout', 'aborted'] as const) {
      this.counts.results[r] = 0;
    }
  }

  /** A whole (small) document; 404 → NotFound, other failures → UpstreamUnavailable after retries. */
  getBuffer(url: string, opts: RequestOptions & { limit: number; accept?: string }): Promise<BufferedResponse> {
    return this.withRetries(url, opts, async (signal) => {
      const { res, finalUrl, release } = await this.open(url, opts, signal, opts.accept);
      const declared = contentLengthOf(res);
      if (declared !== undefined && declared > opts.limit) {
        res.destroy();
        release('too_large');
        throw new UpstreamTooLarge(`response from ${describeUrl(finalUrl)} is ${declared} bytes, more than the ${opts.limit} allowed`, finalUrl);
      }
      const body = guardBody(res, {
        url: finalUrl,
        maxBytes: opts.limit,
        idleTimeoutMs: this.o.responseTimeoutMs,
        deadlineMs: this.o.responseTimeoutMs,
        signal,
        onSettled: release,
      });
      try {
        return { url: finalUrl, contentType: res.headers['content-type'] ?? '', body: await readAll(body), status: res.statusCode ?? 0, headers: res.headers };
      } catch (err) {
        // A cut or stalled document is most likely a network hiccup: try again,
        // and report the integrity problem only if it keeps happening.
        if (err instanceof UpstreamTooLarge || (err as Error).name === 'AbortError') throw err;
        throw new Retryable((err as Error).message, { exhausted: err as Error, cause: err });
      }
    });
  }

  /**
   * A JSON document. A body that does not parse is described by its content
   * type and size: JSON.parse's message quotes the text, which is the
   * upstream's to say, not ours to repeat.
   */
  async getJson(url: string, opts: RequestOptions & { limit: number }): Promise<{ url: string; contentType: string; value: unknown }> {
    const res = await this.getBuffer(url, { ...opts, accept: 'application/json' });
    try {
      return { url: res.url, contentType: res.contentType, value: JSON.parse(res.body.toString('utf8')) };
    } catch {
      throw new InvalidUpstreamResponse(res.url, `expected a JSON document, got ${res.body.length} bytes of ${describeContentType(res.contentType)} that do not parse as JSON`);
    }
  }

  /**
   * A body to stream (archives). Retries cover getting the response headers;
   * once bytes flow, failures go to the consumer (a half-read archive cannot
   * be resumed transparently). The concurrency slot is held until the body ends.
   */
  getStream(url: string, opts: RequestOptions & { maxBytes?: number }): Promise<StreamedResponse> {
    const maxBytes = opts.maxBytes ?? DEFAULT_DOWNLOAD_LIMIT;
    return this.withRetries(url, opts, async (signal) => {
      const { res, finalUrl, release } = await this.open(url, opts, signal, '*/*');
      const declared = contentLengthOf(res);
      if (declared !== undefined && declared > maxBytes) {
        res.destroy();
        release('too_large');
        throw new UpstreamTooLarge(`download ${describeUrl(finalUrl)} is ${declared} bytes, more than the ${maxBytes} allowed`, finalUrl);
      }
      const body = guardBody(res, { url: finalUrl, maxBytes, idleTimeoutMs: this.o.idleTimeoutMs, signal, onSettled: release });
      return { url: finalUrl, contentLength: declared, body };
    });
  }

  stats(): HttpStats {
    return {
      attempts: this.counts.attempts,
      retries: this.counts.retries,
      inFlight: this.slots.inFlight,
      waiting: this.slots.waiting,
      maxInFlight: this.slots.maxInFlight,
      results: { ...this.counts.results },
    };
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async withRetries<T>(url: string, opts: RequestOptions, attempt: (signal?: AbortSignal) => Promise<T>): Promise<T> {
    let last: Retryable | undefined;
    for (let n = 1; n <= this.o.maxAttempts; n++) {
      if (n > 1) {
        await this.o.sleep(this.retryDelay(url, n - 1, last), opts.signal);
        this.counts.retries++;
      }
      try {
        return await attempt(opts.signal);
      } catch (err) {
        if (!(err instanceof Retryable)) throw err;
        last = err;
      }
    }
    if (last?.details.exhausted) throw last.details.exhausted;
    const Failure = last?.details.result === 'timeout' ? UpstreamTimeout : UpstreamUnavailable;
    throw new Failure(
      `GET ${describeUrl(url)} failed after ${this.o.maxAttempts} attempt(s): ${last?.message ?? 'no attempt made'}`,
      { url, status: last?.details.status, attempts: this.o.maxAttempts },
      { cause: last },
    );
  }

  private retryDelay(url: string, retry: number, last: Retryable | undefined): number {
    const asked = last?.details.retryAfterMs;
    if (asked === undefined) return backoffDelay(retry, this.o.backoffBaseMs, this.o.backoffCapMs, this.o.random);
    if (asked > this.o.retryAfterCapMs) {
      throw new UpstreamUnavailable(
        `GET ${describeUrl(url)}: upstream asked to retry after ${Math.ceil(asked / 1000)} s (HTTP ${last?.details.status}), ` +
          `longer than the ${this.o.retryAfterCapMs / 1000} s this mirror waits; giving up`,
        { url, status: last?.details.status },
      );
    }
    return asked;
  }

  /**
   * One attempt: takes a slot, follows redirects, and returns a 2xx response
   * whose slot is released through `release` once its body is done.
   */
  private async open(url: string, opts: RequestOptions, signal: AbortSignal | undefined, accept: string | undefined) {
    const releaseSlot = await this.slots.acquire(signal);
    this.counts.attempts++;
    let released = false;
    const release = (result: RequestResult) => {
      if (released) return;
      released = true;
      this.counts.results[result]++;
      releaseSlot();
    };
    try {
      const { res, finalUrl } = await this.follow(url, opts.maxRedirects ?? 5, signal, accept);
      this.checkStatus(res, finalUrl, release);
      return { res, finalUrl, release };
    } catch (err) {
      release(resultOf(err));
      throw err;
    }
  }

  private async follow(start: string, maxRedirects: number, signal: AbortSignal | undefined, accept: string | undefined) {
    let current = parseUrl(start);
    const origin = current.origin;
    for (let hops = 0; ; hops++) {
      this.assertSecure(current);
      const headers = { ...(current.origin === origin ? this.o.headers : {}), ...(accept ? { accept } : {}) };
      const res = await this.send(current, headers, signal);
      const status = res.statusCode ?? 0;
      if (!REDIRECTS.has(status)) return { res, finalUrl: current.href };
      res.resume();
      const here = describeUrl(current);
      const location = res.headers.location;
      if (location === undefined) throw new InvalidUpstreamResponse(current.href, `answered ${status} without a Location`);
      if (hops >= maxRedirects) throw new UpstreamUnavailable(`${describeUrl(start)}: more than ${maxRedirects} redirects`, { url: start, status });
      const next = parseUrl(location, current);
      // A signed download is worth nothing if an attacker on the path can serve it: never leave TLS.
      if (current.protocol === 'https:' && next.protocol !== 'https:') {
        throw new UpstreamRefused(`${here} redirects to insecure ${describeUrl(next)}; refused`, current.host);
      }
      current = next;
    }
  }

  /** Plain http is fetched only from an upstream configured with a plain http url (the operator's choice). */
  private assertSecure(url: URL): void {
    if (this.reach.requireHttps && url.protocol !== 'https:') {
      throw new UpstreamRefused(`refused to fetch ${describeUrl(url)}: upstream URLs must be HTTPS`, url.host);
    }
  }

  private checkStatus(res: http.IncomingMessage, url: string, release: (r: RequestResult) => void): void {
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return;
    res.resume();
    if (status === 404 || status === 410) {
      throw new NotFound(`upstream answered ${status} for ${describeUrl(url)}`);
    }
    // The reason phrase is the upstream's text: the status code says enough.
    const detail = `GET ${describeUrl(url)} answered ${status}`;
    if (status === 429 || status === 503) {
      release(status === 429 ? 'rate_limited' : 'server_error');
      throw new Retryable(detail, { status, retryAfterMs: parseRetryAfter(res.headers['retry-after'], this.o.now()) });
    }
    if (RETRYABLE_5XX.has(status)) {
      release('server_error');
      throw new Retryable(detail, { status });
    }
    release(status >= 500 ? 'server_error' : 'client_error');
    throw new UpstreamUnavailable(detail, { url, status });
  }

  /** Sends one GET and resolves on its response headers, within the connect and response timeouts. */
  private async send(url: URL, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
    // An IP literal is connected to without a lookup, so the agents' check never sees it.
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(literal)) {
      const range = await refusalOf(literal, this.reach);
      if (range !== undefined) throw refused(literal, literal, range);
    }
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const secure = url.protocol === 'https:';
      const req = (secure ? https : http).request(url, {
        method: 'GET',
        agent: secure ? this.agents.https : this.agents.http,
        headers: { 'user-agent': 'terraform-mirror', ...headers },
      });
      const timers: NodeJS.Timeout[] = [];
      let finished = false;
      const timeout = (ms: number, what: string) =>
        setTimeout(() => req.destroy(new Retryable(`${what} ${url.host} took more than ${ms / 1000} s`, { result: 'timeout' })), ms);
      const done = () => {
        finished = true;
        timers.forEach(clearTimeout);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => req.destroy(abortError(signal));
      signal?.addEventListener('abort', onAbort, { once: true });
      const awaitAnswer = () => {
        if (!finished) timers.push(timeout(this.o.responseTimeoutMs, 'waiting for an answer from'));
      };
      req.on('socket', (socket) => {
        // A kept-alive socket is already connected: only the answer is awaited.
        if (!socket.connecting) return awaitAnswer();
        const t = timeout(this.o.connectTimeoutMs, 'connecting to');
        timers.push(t);
        socket.once(secure ? 'secureConnect' : 'connect', () => {
          clearTimeout(t);
          awaitAnswer();
        });
      });
      req.on('response', (res) => {
        done();
        resolve(res);
      });
      req.on('error', (err) => {
        done();
        reject(classifyNetworkError(err, url));
      });
      req.end();
    });
  }
}

function classifyNetworkError(err: Error, url: URL): Error {
  if (err instanceof Retryable || err instanceof UpstreamError || err.name === 'AbortError') return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = `GET ${describeUrl(url)}: ${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}`;
  if (PERMANENT_NETWORK_CODES.test(code)) return new UpstreamUnavailable(message, { url: url.href }, { cause: err });
  return new Retryable(message, { cause: err });
}

function resultOf(err: unknown): RequestResult {
  if (err instanceof NotFound) return 'not_found';
  if (err instanceof UpstreamTooLarge) return 'too_large';
  if (err instanceof UpstreamRefused) return 'refused';
  if (err instanceof Error && err.name === 'AbortError') return 'aborted';
  if (err instanceof Retryable && err.details.result) return err.details.result;
  return 'network_error';
}
