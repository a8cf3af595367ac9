import Router from '@koa/router';
import type Koa from 'koa';
import type { Database } from '../db/database.js';
import { NotFound } from '../errors.js';
import { formatModuleAddress } from '../modules/address.js';
import type { ModuleAddress, ModuleVersionRow } from '../modules/ports.js';
import type { ObjectStore } from '../storage/store.js';
import { DownloadCounter } from './downloads.js';
import { parseModuleParams, parseVersionParam } from './request-path.js';
import { clientGone, sendDocument, sendStoredArchive } from './routes.js';
import type { HeldModuleVersion, MirrorService } from './service.js';

export interface ModuleRoutesDeps {
  mirror: MirrorService;
  store: ObjectStore;
  /** Seconds a presigned archive URL lives; 0 streams through the server. */
  presignTtl: number;
  /** server.public_url; "" takes the base from the request (after the trusted-proxy rules). */
  publicUrl: string;
  /** Counts archive downloads per module version (moduleDownloadCounter). */
  moduleDownloads: Pick<DownloadCounter, 'record'>;
}

/**
 * The Module Registry Protocol per upstream host H:
 *   /hosts/H/v1/modules/{ns}/{name}/{system}/versions
 *   /hosts/H/v1/modules/{ns}/{name}/{system}/download               (302 to the latest version's)
 *   /hosts/H/v1/modules/{ns}/{name}/{system}/{version}/download     (204 + X-Terraform-Get)
 *   /hosts/H/v1/modules/{ns}/{name}/{system}/{version}/archive.tar.gz
 * The download answer names the mirror's own normalized archive, never the
 * upstream's location, so a client needs nothing but the mirror. A version
 * not held is pulled through the seam by the download answer; the archive
 * route only serves what is held. A host that is not an upstream is a 404
 * with no network call (the seam refuses it).
 */
export function moduleRoutes(deps: ModuleRoutesDeps): Router {
  const router = new Router({ prefix: '/hosts/:host/v1/modules/:namespace/:name/:system' });
  const address = (ctx: Koa.Context) => parseModuleParams(ctx.params.host ?? '', ctx.params.namespace ?? '', ctx.params.name ?? '', ctx.params.system ?? '');
  const { mirror } = deps;

  router.get('/versions', async (ctx) => {
    sendDocument(ctx, await mirror.moduleVersions(address(ctx), () => clientGone(ctx)), MODULE_DEPRECATED);
  });

  router.get('/download', async (ctx) => {
    const a = address(ctx);
    const doc = await mirror.moduleVersions(a, () => clientGone(ctx));
    if (doc.latest === undefined) throw new NotFound(`module ${formatModuleAddress(a)} has no release version`);
    // Relative to this URL, so it holds behind any path prefix.
    ctx.set('Cache-Control', 'no-cache');
    ctx.redirect(`${doc.latest}/download`);
  });

  router.get('/:version/download', async (ctx) => {
    const a = address(ctx);
    const version = parseVersionParam(ctx.params.version ?? '');
    const held = await mirror.moduleDownload(a, version, clientGone(ctx));
    // Absolute: Terraform and OpenTofu resolve a relative X-Terraform-Get too, but other go-getter users may not.
    const base = deps.publicUrl ? deps.publicUrl.replace(/\/*$/, '/') : `${ctx.protocol}://${ctx.host}/`;
    ctx.status = 204;
    ctx.set('X-Terraform-Get', `${base}${archivePath(a, version)}${subdirSuffix(held.row)}`);
    ctx.set('Cache-Control', 'no-cache');
    warnIfDeprecated(ctx, held);
  });

  router.get('/:version/archive.tar.gz', async (ctx) => {
    const a = address(ctx);
    const version = parseVersionParam(ctx.params.version ?? '');
    const { row } = await mirror.moduleArchive(a, version);
    const archive = { objectKey: row.archiveKey, sha256: row.sha256, size: row.size, filename: `${a.name}-${a.system}-${version}.tar.gz`, contentType: 'application/gzip' };
    await sendStoredArchive(ctx, deps, archive, () => deps.moduleDownloads.record(row.id));
  });

  return router;
}

/** The archive route's path below the mirror's base. */
function archivePath(a: ModuleAddress, version: string): string {
  return `hosts/${a.hostname}/v1/modules/${a.namespace}/${a.name}/${a.system}/${version}/archive.tar.gz`;
}

/**
 * The `//subdir` go-getter reads after the archive URL. The ingest expands
 * `//*` to the directory's name: Terraform 1.11 does not expand it itself.
 */
function subdirSuffix(row: ModuleVersionRow): string {
  const subdir = row.subdir?.replace(/^\/+|\/+$/g, '');
  if (!subdir) return '';
  if (subdir.split('/').includes('*')) throw new Error(`module version ${row.id} records an unexpanded subdirectory`);
  return `//${subdir}`;
}

const MODULE_DEPRECATED = '299 - "This module is deprecated in this mirror"';

function warnIfDeprecated(ctx: Koa.Context, held: HeldModuleVersion): void {
  if (held.status === 'deprecated') ctx.set('Warning', MODULE_DEPRECATED);
}

/**
 * Module archive downloads are buffered like packages' (DownloadCounter), so
 * serving an archive never waits on a database write; a flush records them
 * in one transaction.
 */
export function moduleDownloadCounter(db: Database, modules: { countDownload(versionId: number, now: number): void }): DownloadCounter {
  return new DownloadCounter({
    recordDownloads: (tallies) =>
      db.transaction(() => {
        for (const [versionId, tally] of tallies) {
          for (let i = 0; i < tally.count; i++) modules.countDownload(versionId, tally.last.getTime());
        }
      })(),
  });
}
