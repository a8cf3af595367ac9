import fs from 'node:fs';
import http from 'node:http';
import {
  HOP_FILE_HEADER,
  HOP_FILE_LENGTH_HEADER,
  HOP_FILE_START_HEADER,
  HOP_OFFLOAD_HEADER,
  HOP_PEER_HEADER,
  HOP_PROTO_HEADER,
} from '../http/forwarded.js';
import { SEND_BUFFER } from '../storage/store.js';
import { parseMirrorPath } from '../mirror/request-path.js';
import { PROVIDER_DEPRECATED } from '../mirror/routes.js';
import type { Document } from '../mirror/service.js';
import type { DocumentPath, ForwardedDocuments } from './forwarded-documents.js';

/** Headers about one connection, not the message (RFC 9110 §7.6.1): never passed across the hop. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** The fixed hop-by-hop headers and those a message's Connection header names as its connection's own. */
function connectionOnly(connection: string | string[] | undefined): Set<string> {
  if (connection === undefined) return HOP_BY_HOP;
  const named = (Array.isArray(connection) ? connection.join(',') : connection).split(',').map((t) => t.trim().toLowerCase());
  return new Set([...HOP_BY_HOP, ...named.filter((t) => t !== '')]);
}

/** The most a document kept from the writer's answer may weigh; a bigger one is only passed on. */
const MAX_KEPT_DOCUMENT = 1 << 20;

export interface PassOnOptions {
  /** The writer's internal listener. */
  socketPath: string;
  agent: http.Agent;
  /** The scheme the client connected with. */
  proto: 'http' | 'https';
  documents: ForwardedDocuments;
  /** An archive streamed from its file was sent in full (bytes_served_total). */
  onFileSent?: (bytes: number) => void;
}

/**
 * Passes a request this worker does not answer itself to the writing process
 * over its internal listener, and the answer back, streamed both ways with
 * backpressure (pipe). The writer learns the client's peer and scheme from the
 * hop headers, so trusted proxies, logs and absolute URLs are as if the client
 * had reached it directly. A plain GET of a provider document answered 200 is
 * kept (ForwardedDocuments) when it is exactly what the warm path would send.
 */
export function passOn(req: http.IncomingMessage, res: http.ServerResponse, opts: PassOnOptions): void {
  const headers: http.OutgoingHttpHeaders = {};
  const skip = connectionOnly(req.headers.connection);
  for (const [name, value] of Object.entries(req.headers)) if (!skip.has(name) && value !== undefined) headers[name] = value;
  headers[HOP_PEER_HEADER] = req.socket.remoteAddress ?? '';
  headers[HOP_PROTO_HEADER] = opts.proto;
  if (req.method === 'GET') headers[HOP_OFFLOAD_HEADER] = 'file';
  else delete headers[HOP_OFFLOAD_HEADER];
  const keep = keepable(req);
  const generation = opts.documents.generation;

  // A kept-alive connection the writer closed just as this request went out fails with ECONNRESET before any
  // answer: a request without a body is sent again once, on a new connection (Node's documented remedy).
  const replayable = (req.method === 'GET' || req.method === 'HEAD') && req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
  const send = (attempt: number): void => {
    const upstream = http.request({ socketPath: opts.socketPath, agent: opts.agent, method: req.method, path: req.url, headers });
    current = upstream;
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      if (attempt === 0 && replayable && upstream.reusedSocket && err.code === 'ECONNRESET' && !res.headersSent && !res.destroyed) return send(1);
      if (res.headersSent) res.destroy();
      else {
        const body = JSON.stringify({ error: { message: 'the serving process is not reachable; retry' } });
        res.writeHead(503, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Retry-After': '1' }).end(body);
      }
    });
    upstream.once('response', (answer) => answered(answer));
    if (replayable) upstream.end();
    else req.pipe(upstream);
  };
  let current: http.ClientRequest | undefined;
  if (replayable) req.resume();
  // The client going away mid-answer ends the writer's side too (its handler sees the close, a pull stops waiting).
  res.once('close', () => {
    if (!res.writableFinished) current?.destroy();
  });
  const answered = (answer: http.IncomingMessage): void => {
    const file = answer.headers[HOP_FILE_HEADER];
    if (typeof file === 'string') return sendFile(answer, res, file, opts);
    const raw = answer.rawHeaders;
    const out: string[] = [];
    const skip = connectionOnly(answer.headers.connection);
    for (let i = 0; i < raw.length; i += 2) if (!skip.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
    // A cut on the writer's side is a cut here: never a short body that looks complete.
    answer.once('aborted', () => res.destroy());
    answer.once('error', () => res.destroy());
    const doc = keep && answer.statusCode === 200 ? keptDocument(answer) : undefined;
    if (keep && doc) {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.once('end', () => {
        const body = Buffer.concat(chunks);
        if (body.length === doc.length) opts.documents.remember(keep, { body, etag: doc.etag, status: doc.status }, generation);
      });
    }
    answer.pipe(res);
  };
  send(0);
}

const HOP_FILE_HEADERS = new Set([HOP_FILE_HEADER, HOP_FILE_START_HEADER, HOP_FILE_LENGTH_HEADER]);

/**
 * The writer answered an archive with the file its bytes are in (mirror/routes.ts):
 * this worker streams that part of the file with the writer's status and
 * headers, so the archive crosses no socket but the client's. A file gone
 * meanwhile (the package was deleted) is a 503 to retry, never a short body.
 */
function sendFile(answer: http.IncomingMessage, res: http.ServerResponse, file: string, opts: PassOnOptions): void {
  answer.resume();
  const start = Number(answer.headers[HOP_FILE_START_HEADER]);
  const length = Number(answer.headers[HOP_FILE_LENGTH_HEADER]);
  const out: string[] = [];
  const raw = answer.rawHeaders;
  const skip = connectionOnly(answer.headers.connection);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!skip.has(name) && !HOP_FILE_HEADERS.has(name) && name !== 'content-length') out.push(raw[i]!, raw[i + 1]!);
  }
  out.push('Content-Length', String(length));
  if (length === 0) {
    res.writeHead(answer.statusCode ?? 200, answer.statusMessage, out).end();
    return;
  }
  const body = fs.createReadStream(file, { start, end: start + length - 1, highWaterMark: SEND_BUFFER });
  body.once('error', () => {
    if (res.headersSent) res.destroy();
    else {
      const text = JSON.stringify({ error: { message: 'the archive is not readable right now; retry' } });
      res.writeHead(503, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Retry-After': '1' }).end(text);
    }
  });
  body.once('open', () => {
    res.writeHead(answer.statusCode ?? 200, answer.statusMessage, out);
    body.pipe(res);
  });
  res.once('close', () => {
    if (res.writableFinished) opts.onFileSent?.(length);
    body.destroy();
  });
}

/** The document a request names when its answer may be kept: an unconditional GET of index.json or {version}.json. */
function keepable(req: http.IncomingMessage): DocumentPath | undefined {
  if (req.method !== 'GET' || req.url === undefined || req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined) return undefined;
  const query = req.url.indexOf('?');
  const url = query === -1 ? req.url : req.url.slice(0, query);
  if (!url.endsWith('.json') || url.includes('%')) return undefined;
  try {
    const path = parseMirrorPath(url);
    return path.kind === 'archive' ? undefined : path;
  } catch {
    return undefined;
  }
}

/** Headers the warm path writes for a document (and the framing Node adds): an answer with any other is not kept. */
const DOCUMENT_HEADERS = new Set(['x-request-id', 'etag', 'cache-control', 'content-type', 'content-length', 'warning', 'date', 'connection', 'keep-alive']);

/** What the warm path needs to send this answer again byte for byte, or undefined when it could not. */
function keptDocument(answer: http.IncomingMessage): { etag: string; length: number; status: Document['status'] } | undefined {
  const h = answer.headers;
  if (Object.keys(h).some((name) => !DOCUMENT_HEADERS.has(name))) return undefined;
  if (h['cache-control'] !== 'no-cache' || h['content-type'] !== 'application/json; charset=utf-8' || typeof h.etag !== 'string') return undefined;
  if (h.warning !== undefined && h.warning !== PROVIDER_DEPRECATED) return undefined;
  const length = Number(h['content-length']);
  if (!Number.isInteger(length) || length > MAX_KEPT_DOCUMENT) return undefined;
  return { etag: h.etag, length, status: h.warning === undefined ? 'active' : 'deprecated' };
}
