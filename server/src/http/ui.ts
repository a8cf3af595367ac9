import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';

export interface UiOptions {
  /** The built UI (vite's output: index.html, assets/). */
  dir: string;
}

/** Where `npm run build:ui` writes the UI: dist/ui beside dist/server. */
export function defaultUiDir(): string {
  return fileURLToPath(new URL('../../../ui/', import.meta.url));
}

// The build has no inline script or style (vite.config.ts sees to that), so nothing needs 'unsafe-inline';
// the UI talks only to this origin's admin API.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

// Hashed file names change with their content, so a browser may keep them for good.
const IMMUTABLE = 'public, max-age=31536000, immutable';
// index.html names the current hashed files: it must be revalidated on every load.
const REVALIDATE = 'no-cache';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT =
  'The admin UI is not built. Build it with `npm run build:ui` (`npm ci` does so through the prepare script), then restart the server.\n';

/**
 * Serves the admin web UI under /ui/: hashed assets cached for a year,
 * every other path without a file answered with index.html so the
 * client-side router can take it, and a browser opening / is sent to /ui/.
 */
export function uiMiddleware(opts: UiOptions): Koa.Middleware {
  const root = path.resolve(opts.dir);
  return async (ctx, next) => {
    if (ctx.path === '/' && (ctx.method === 'GET' || ctx.method === 'HEAD') && acceptsHtml(ctx.get('Accept'))) {
      securityHeaders(ctx);
      ctx.redirect('/ui/');
      return;
    }
    if (ctx.path !== '/ui' && !ctx.path.startsWith('/ui/')) return next();
    securityHeaders(ctx);
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.type = 'text/plain';
      ctx.body = `${ctx.method} is not allowed on the admin UI\n`;
      return;
    }
    if (ctx.path === '/ui') {
      ctx.redirect('/ui/');
      return;
    }
    const relative = safeRelativePath(ctx.path.slice('/ui/'.length));
    if (relative === undefined) {
      ctx.status = 400;
      ctx.type = 'text/plain';
      ctx.body = 'path refused: it leaves the UI directory or is not a valid path\n';
      return;
    }
    const index = await fileAt(path.join(root, 'index.html'));
    if (!index) {
      ctx.status = 503;
      ctx.type = 'text/plain';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = NOT_BUILT;
      return;
    }
    const file = relative === '' ? undefined : await fileAt(path.join(root, relative));
    if (file) return send(ctx, file, relative.startsWith('assets/') ? IMMUTABLE : REVALIDATE);
    if (relative.startsWith('assets/')) {
      // A missing hashed file is an old page asking for a replaced build: index.html would be parsed as script.
      ctx.status = 404;
      ctx.type = 'text/plain';
      ctx.set('Cache-Control', REVALIDATE);
      ctx.body = 'no such asset; reload the page\n';
      return;
    }
    return send(ctx, index, REVALIDATE);
  };
}

function acceptsHtml(accept: string): boolean {
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

function securityHeaders(ctx: Koa.Context): void {
  ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
}

/**
 * The request path below /ui/ as a relative file path, or undefined when it
 * cannot be one: bad escapes, NUL, backslashes, or `.`/`..` segments (decoded,
 * so `%2e%2e` is refused too). Nothing outside the UI directory is reachable.
 */
function safeRelativePath(raw: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '.' || s === '..')) return undefined;
  return segments.filter((s) => s !== '').join('/');
}

interface FoundFile {
  path: string;
  size: number;
  mtimeMs: number;
}

async function fileAt(p: string): Promise<FoundFile | undefined> {
  try {
    const s = await stat(p);
    return s.isFile() ? { path: p, size: s.size, mtimeMs: s.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

function send(ctx: Koa.Context, file: FoundFile, cacheControl: string): void {
  const etag = `"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`;
  ctx.set('Cache-Control', cacheControl);
  ctx.set('ETag', etag);
  ctx.set('Last-Modified', new Date(file.mtimeMs).toUTCString());
  if (ctx.get('If-None-Match') === etag) {
    ctx.status = 304;
    return;
  }
  ctx.status = 200;
  ctx.type = CONTENT_TYPES[path.extname(file.path).toLowerCase()] ?? 'application/octet-stream';
  ctx.length = file.size;
  // Koa answers HEAD without the body and destroys the stream when the response finishes.
  ctx.body = createReadStream(file.path);
  ctx.length = file.size;
}
