import Router from '@koa/router';
import type Koa from 'koa';
import { HOP_FILE_HEADER, HOP_FILE_LENGTH_HEADER, HOP_FILE_START_HEADER, hopOffloads } from '../http/forwarded.js';
import { parseRange } from '../http/range.js';
import { readArchive } from '../storage/disk-cache.js';
import type { ObjectStore } from '../storage/store.js';
import type { DownloadCounter } from './downloads.js';
import { parseMirrorPath } from './request-path.js';
import type { Document, MirrorService, PulledRef } from './service.js';

export interface MirrorRoutesDeps {
  mirror: MirrorService;
  store: ObjectStore;
  downloads: DownloadCounter;
  /** Seconds a presigned archive URL lives; 0 streams through the server. */
  presignTtl: number;
}

/**
 * The Provider Network Mirror Protocol at the root:
 *   /{hostname}/{namespace}/{type}/index.json
 *   /{hostname}/{namespace}/{type}/{version}.json
 *   /{hostname}/{namespace}/{type}/{archive}.zip   (the URL our {version}.json hands out)
 * Segments are validated and normalized by parseMirrorPath (request-path.ts),
 * never joined into a path; anything that does not validate is a 404.
 */
export function mirrorRoutes(deps: MirrorRoutesDeps): Router {
  const router = new Router();
  const dispatch = async (ctx: Koa.Context, segments: string[]) => {
    const path = parseMirrorPath(segments);
    const signal = () => clientGone(ctx);
    if (path.kind === 'index') return sendDocument(ctx, await deps.mirror.index(path.provider, signal), PROVIDER_DEPRECATED);
    if (path.kind === 'version') return sendDocument(ctx, await deps.mirror.version(path.provider, path.version, signal), PROVIDER_DEPRECATED);
    const ref = await deps.mirror.archive(path.provider, path.file, path.version, signal());
    if ('pulled' in ref) {
      sendPulledArchive(ctx, ref);
      // The bytes are released only once the package is published, so a completed response has a row to count.
      if (ctx.method === 'GET') {
        ctx.res.once('finish', () => {
          const packageId = deps.mirror.publishedPackageId(ref);
          if (packageId !== undefined) deps.downloads.record(packageId);
        });
      }
      return;
    }
    const { pkg } = ref;
    return sendStoredArchive(ctx, deps, { ...pkg, contentType: 'application/zip' }, () => deps.downloads.record(pkg.id));
  };
  router.get('/:hostname/:namespace/:type/:file', async (ctx) => {
    const { hostname = '', namespace = '', type = '', file = '' } = ctx.params;
    await dispatch(ctx, [hostname, namespace, type, file]);
  });
  // The archive URL {version}.json hands out: the version is part of the archive's key.
  router.get('/:hostname/:namespace/:type/:version/:file', async (ctx) => {
    const { hostname = '', namespace = '', type = '', version = '', file = '' } = ctx.params;
    await dispatch(ctx, [hostname, namespace, type, version, file]);
  });
  return router;
}

/** Aborted when the client goes away before its response finished: a pull it started may stop waiting for it. */
export function clientGone(ctx: Koa.Context): AbortSignal {
  const controller = new AbortController();
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * An archive as it arrives from the upstream. The puller destroys the body on
 * a failed digest or an upstream cut; the connection is then destroyed too, so
 * the client sees a broken download, never a complete one with bad bytes
 * (piping alone would leave it waiting for bytes that never come).
 */
export function sendPulledArchive(ctx: Koa.Context, ref: PulledRef): void {
  const { pulled } = ref;
  if (ctx.method !== 'GET') {
    // HEAD must not hold a share of the download it will never read.
    pulled.body.destroy();
  } else {
    pulled.body.once('error', () => ctx.req.socket.destroy());
  }
  ctx.status = 200;
  ctx.type = 'application/zip';
  ctx.set('ETag', `"${pulled.sha256}"`);
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Disposition', `attachment; filename="${ref.filename}"`);
  if (ctx.method === 'GET') ctx.body = pulled.body;
  if (pulled.size !== undefined) ctx.length = pulled.size;
}

export const PROVIDER_DEPRECATED = '299 - "This provider is deprecated in this mirror"';

/**
 * A rendered JSON document with its strong ETag (304 when the client holds it);
 * `deprecatedWarning` is sent when the document belongs to something deprecated.
 */
export function sendDocument(ctx: Koa.Context, doc: Document, deprecatedWarning?: string): void {
  ctx.status = 200;
  ctx.set('ETag', doc.etag);
  ctx.set('Cache-Control', 'no-cache');
  if (deprecatedWarning !== undefined && doc.status === 'deprecated') ctx.set('Warning', deprecatedWarning);
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.type = 'application/json';
  ctx.body = doc.body;
}

/** An immutable object in the store, served as a download (a provider package, a module archive). */
export interface StoredArchive {
  objectKey: string;
  sha256: string;
  size: number;
  filename: string;
  contentType: string;
}

/**
 * Serves a stored archive: a redirect to a presigned URL when the store
 * presigns, else streamed with Range and conditional GET. `counted` runs once
 * per download (a GET, not a HEAD or a later range).
 */
export async function sendStoredArchive(
  ctx: Koa.Context,
  deps: Pick<MirrorRoutesDeps, 'store' | 'presignTtl'>,
  pkg: StoredArchive,
  counted: () => void,
): Promise<void> {
  const isGet = ctx.method === 'GET';
  if (deps.presignTtl > 0) {
    const url = await deps.store.presignGet(pkg.objectKey, deps.presignTtl, { filename: pkg.filename });
    if (url) {
      if (isGet) counted();
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(url);
      return;
    }
  }
  const etag = `"${pkg.sha256}"`;
  // Success headers go on only once the answer is a success: a 416, or a 404/503
  // from the store, must not be cached as the immutable package.
  const succeed = (status: number) => {
    ctx.status = status;
    ctx.set('Accept-Ranges', 'bytes');
    ctx.set('ETag', etag);
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.set('Content-Disposition', `attachment; filename="${pkg.filename}"`);
  };
  if (isFresh(ctx, etag)) {
    succeed(304);
    return;
  }
  let range = parseRange(ctx.get('range'), pkg.size);
  const ifRange = ctx.get('if-range');
  if (range && ifRange && ifRange !== etag) range = null;
  if (range === 'unsatisfiable') {
    ctx.status = 416;
    ctx.set('Accept-Ranges', 'bytes');
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Range', `bytes */${pkg.size}`);
    ctx.body = { error: { message: 'range not satisfiable' } };
    return;
  }
  const length = range ? range.end - range.start + 1 : pkg.size;
  if (!isGet) {
    // HEAD: headers only, without opening the object.
    succeed(range ? 206 : 200);
    ctx.type = pkg.contentType;
    if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${pkg.size}`);
    ctx.length = length;
    return;
  }
  const file = deps.store.localPath && hopOffloads(ctx.req) ? deps.store.localPath(pkg.objectKey) : undefined;
  if (file !== undefined) {
    // A read-serving worker asked: it streams the file to its client itself, so the bytes do not cross the hop.
    succeed(range ? 206 : 200);
    ctx.type = pkg.contentType;
    if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${pkg.size}`);
    if (!range || range.start === 0) counted();
    ctx.set(HOP_FILE_HEADER, file);
    ctx.set(HOP_FILE_START_HEADER, String(range ? range.start : 0));
    ctx.set(HOP_FILE_LENGTH_HEADER, String(length));
    ctx.state.sentByWorker = length;
    ctx.body = NO_BYTES;
    return;
  }
  const controller = new AbortController();
  // The request's own 'close' fires once its body is read; the response's
  // 'close' before it finished is what a client going away looks like.
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) controller.abort();
  });
  // Through the archive disk cache when the store has one (S3 with presigning off), checked against the recorded digest.
  const object = await readArchive(deps.store, pkg.objectKey, { sha256: pkg.sha256, size: pkg.size }, range ?? undefined, controller.signal);
  succeed(range ? 206 : 200);
  ctx.type = pkg.contentType;
  if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${pkg.size}`);
  if (!range || range.start === 0) counted();
  ctx.body = object.body;
  ctx.length = object.size;
}

const NO_BYTES = Buffer.alloc(0);

/** Conditional GET against the package's ETag, decided before any header of a success is set. */
function isFresh(ctx: Koa.Context, etag: string): boolean {
  const inm = ctx.get('if-none-match');
  if (!inm) return false;
  return inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
