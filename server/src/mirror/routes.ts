import Router from '@koa/router';
import type Koa from 'koa';
import { parseRange } from '../http/range.js';
import type { ObjectStore } from '../storage/store.js';
import type { DownloadCounter } from './downloads.js';
import { parseMirrorPath } from './request-path.js';
import type { ArchiveRef, Document, MirrorService } from './service.js';

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
  router.get('/:hostname/:namespace/:type/:file', async (ctx) => {
    const { hostname = '', namespace = '', type = '', file = '' } = ctx.params;
    const path = parseMirrorPath([hostname, namespace, type, file]);
    if (path.kind === 'index') return sendDocument(ctx, await deps.mirror.index(path.provider));
    if (path.kind === 'version') return sendDocument(ctx, await deps.mirror.version(path.provider, path.version));
    return sendArchive(ctx, deps, await deps.mirror.archive(path.provider, path.file));
  });
  return router;
}

function sendDocument(ctx: Koa.Context, doc: Document): void {
  ctx.status = 200;
  ctx.set('ETag', doc.etag);
  ctx.set('Cache-Control', 'no-cache');
  if (doc.status === 'deprecated') ctx.set('Warning', '299 - "This provider is deprecated in this mirror"');
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.type = 'application/json';
  ctx.body = doc.body;
}

async function sendArchive(ctx: Koa.Context, deps: MirrorRoutesDeps, ref: ArchiveRef): Promise<void> {
  const { pkg } = ref;
  const isGet = ctx.method === 'GET';
  if (deps.presignTtl > 0) {
    const url = await deps.store.presignGet(pkg.objectKey, deps.presignTtl, { filename: pkg.filename });
    if (url) {
      if (isGet) deps.downloads.record(pkg.id);
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(url);
      return;
    }
  }
  ctx.set('Accept-Ranges', 'bytes');
  ctx.set('ETag', `"${pkg.sha256}"`);
  ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
  ctx.set('Content-Disposition', `attachment; filename="${pkg.filename}"`);
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  let range = parseRange(ctx.get('range'), pkg.size);
  const ifRange = ctx.get('if-range');
  if (range && ifRange && ifRange !== `"${pkg.sha256}"`) range = null;
  if (range === 'unsatisfiable') {
    ctx.status = 416;
    ctx.set('Content-Range', `bytes */${pkg.size}`);
    ctx.body = { error: { message: 'range not satisfiable' } };
    return;
  }
  ctx.type = 'application/zip';
  if (range) {
    ctx.status = 206;
    ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${pkg.size}`);
  }
  const length = range ? range.end - range.start + 1 : pkg.size;
  if (!isGet) {
    // HEAD: headers only, without opening the object.
    ctx.length = length;
    return;
  }
  const controller = new AbortController();
  // The request's own 'close' fires once its body is read; the response's
  // 'close' before it finished is what a client going away looks like.
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) controller.abort();
  });
  const object = await deps.store.get(pkg.objectKey, range ?? undefined, controller.signal);
  if (!range || range.start === 0) deps.downloads.record(pkg.id);
  ctx.body = object.body;
  ctx.length = object.size;
}
