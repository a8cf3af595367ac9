import Router from '@koa/router';
import type Koa from 'koa';
import type { ProviderIdentity } from '../db/providers.js';
import { NotFound } from '../errors.js';
import { parseRange } from '../http/range.js';
import { isValidHostname, isValidNamespace, isValidType } from '../providers/address.js';
import { isValidPackageFilename } from '../providers/keys.js';
import { isValidVersion } from '../providers/version.js';
import type { ObjectStore } from '../storage/store.js';
import type { DownloadCounter } from './downloads.js';
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
 * Segments are validated and normalized, never joined into a path; anything
 * that does not validate is "not in this source" (404), as the protocol wants.
 */
export function mirrorRoutes(deps: MirrorRoutesDeps): Router {
  const router = new Router();
  router.get('/:hostname/:namespace/:type/:file', async (ctx) => {
    const id = providerFromParams(ctx.params);
    const file = ctx.params.file ?? '';
    if (file === 'index.json') return sendDocument(ctx, await deps.mirror.index(id));
    if (file.endsWith('.json')) {
      const version = file.slice(0, -'.json'.length);
      if (!isValidVersion(version)) throw new NotFound(`not a version: ${version}`);
      return sendDocument(ctx, await deps.mirror.version(id, version));
    }
    if (file.endsWith('.zip') && isValidPackageFilename(file)) {
      return sendArchive(ctx, deps, await deps.mirror.archive(id, file));
    }
    throw new NotFound('not found');
  });
  return router;
}

function providerFromParams(params: Record<string, string | undefined>): ProviderIdentity {
  const hostname = (params.hostname ?? '').toLowerCase();
  const namespace = (params.namespace ?? '').toLowerCase();
  const type = (params.type ?? '').toLowerCase();
  if (!isValidHostname(hostname) || !isValidNamespace(namespace) || !isValidType(type)) {
    throw new NotFound('not a provider address');
  }
  return { hostname, namespace, type };
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
