import Router from '@koa/router';
import type Koa from 'koa';
import { NotFound } from '../errors.js';
import { isKnownArch, isKnownOs } from '../providers/platform.js';
import { isValidVersion } from '../providers/version.js';
import { presentRegistryDownload } from './documents.js';
import { parseProvider } from './request-path.js';
import { clientGone, sendDocument } from './routes.js';
import type { MirrorService } from './service.js';

/**
 * The Provider Registry Protocol, passed through per upstream host H:
 *   /hosts/H/v1/providers/{ns}/{type}/versions
 *   /hosts/H/v1/providers/{ns}/{type}/{version}/download/{os}/{arch}
 *   /hosts/H/v1/providers/{ns}/{type}/{version}/SHA256SUMS      (the upstream's bytes, re-served)
 *   /hosts/H/v1/providers/{ns}/{type}/{version}/SHA256SUMS.sig
 * Every URL a download document hands out leads back to the mirror, and the
 * signing keys are the upstream's: Terraform verifies the signature itself and
 * locks zh: for every platform. Misses go through the same seam as the network
 * mirror protocol; a host that is not an upstream is a 404 with no network call.
 */
export function registryRoutes(mirror: MirrorService): Router {
  const router = new Router({ prefix: '/hosts/:host/v1/providers/:namespace/:type' });
  const provider = (ctx: Koa.Context) => parseProvider(ctx.params.host ?? '', ctx.params.namespace ?? '', ctx.params.type ?? '');
  const version = (ctx: Koa.Context) => {
    const v = ctx.params.version ?? '';
    if (!isValidVersion(v)) throw new NotFound(`not a version: ${v}`);
    return v;
  };

  router.get('/versions', async (ctx) => {
    sendDocument(ctx, await mirror.registryVersions(provider(ctx), clientGone(ctx)));
  });

  router.get('/:version/download/:os/:arch', async (ctx) => {
    const id = provider(ctx);
    const v = version(ctx);
    const { os = '', arch = '' } = ctx.params;
    if (!isKnownOs(os) || !isKnownArch(arch)) throw new NotFound(`not a platform: ${os}_${arch}`);
    const release = await mirror.registryRelease(id, v, clientGone(ctx));
    // Relative to this document's URL (…/{version}/download/{os}/{arch}), so they hold behind any path prefix.
    const toRoot = '../'.repeat(9);
    const doc = presentRegistryDownload(release, `${os}_${arch}`, {
      downloadUrl: `${toRoot}${id.hostname}/${id.namespace}/${id.type}/${v}/${release.archives[`${os}_${arch}`]?.filename ?? ''}`,
      shasumsUrl: '../../SHA256SUMS',
      shasumsSignatureUrl: '../../SHA256SUMS.sig',
    });
    if (doc === undefined) throw new NotFound(`version ${v} of ${id.hostname}/${id.namespace}/${id.type} has no ${os}_${arch} package`);
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = doc;
  });

  router.get('/:version/SHA256SUMS', async (ctx) => {
    const release = await mirror.registryRelease(provider(ctx), version(ctx), clientGone(ctx));
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = release.shasums;
  });

  router.get('/:version/SHA256SUMS.sig', async (ctx) => {
    const release = await mirror.registryRelease(provider(ctx), version(ctx), clientGone(ctx));
    if (!release.signature) throw new NotFound('this release is not signed');
    ctx.type = 'application/octet-stream';
    ctx.body = release.signature;
  });

  return router;
}
