import type Router from '@koa/router';
import Koa from 'koa';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { DownloadCounter } from '../mirror/downloads.js';
import { moduleRoutes } from '../mirror/module-routes.js';
import { registryRoutes } from '../mirror/registry-routes.js';
import { mirrorRoutes } from '../mirror/routes.js';
import type { MirrorService } from '../mirror/service.js';
import type { ObjectStore } from '../storage/store.js';
import { clientConfigRoutes, type ClientConfigSource } from './client-config.js';
import { healthRoutes } from './health.js';
import { forwardedHeaders, TrustedProxies } from './forwarded.js';
import { errorHandler } from './middleware/errors.js';
import { requestContext } from './middleware/request-context.js';
import { defaultUiDir, uiMiddleware, type UiOptions } from './ui.js';

export interface AppDeps {
  logger: Logger;
  db: Database;
  store: ObjectStore;
  mirror: MirrorService;
  downloads: DownloadCounter;
  presignTtl: number;
  /** CIDRs of the reverse proxies whose X-Forwarded-* headers are believed (server.trusted_proxies); default none. */
  trustedProxies?: readonly string[];
  /** Routers mounted before the mirror's catch-all provider routes (admin API, metrics). */
  routers?: Router[];
  /** Middleware run right after the request context (metrics timing). */
  middleware?: Koa.Middleware[];
  /** false: an admin-only listener (server.admin_listen): health and the routers, no mirror routes. */
  serveMirror?: boolean;
  /** What GET /client-config renders (public_url and upstream hostnames); absent: no such route. */
  clientConfig?: ClientConfigSource;
  /** server.public_url, the base of absolute URLs handed out (module downloads); default: clientConfig's, else the request's origin. */
  publicUrl?: string;
  /** Counts module archive downloads per version; absent: not counted. */
  moduleDownloads?: Pick<DownloadCounter, 'record'>;
  /** The admin web UI under /ui/; default: the built one, on the listener that carries the admin API; false: none. */
  ui?: UiOptions | false;
}

/** Assembles the Koa application: context, errors, then routes; nothing listens here. */
export function createApp(deps: AppDeps): Koa {
  // Koa believes X-Forwarded-* app-wide; forwardedHeaders decides per request, from the TCP peer, what is left of them.
  const app = new Koa({ proxy: true });
  // Errors are answered by errorHandler; Koa's default handler would print stacks.
  app.silent = true;
  app.use(forwardedHeaders(new TrustedProxies(deps.trustedProxies ?? [])));
  app.use(requestContext(deps.logger));
  for (const m of deps.middleware ?? []) app.use(m);
  app.use(errorHandler());

  const health = healthRoutes({
    db: deps.db,
    store: deps.store,
    onCheckFailed: (check, err) => deps.logger.warn({ check, err }, 'readiness check failed'),
  });
  mount(app, health);
  const serveMirror = deps.serveMirror ?? true;
  // The UI calls the admin API on its own origin, so it is served where that API is.
  const ui = deps.ui ?? ((deps.routers?.length ?? 0) > 0 || !serveMirror ? { dir: defaultUiDir() } : false);
  if (ui) app.use(uiMiddleware(ui));
  app.use(async (ctx, next) => {
    if (serveMirror && ctx.path === '/.well-known/terraform.json') {
      // Service discovery names the default upstream's registry pass-through,
      // so "HOST/ns/type" in a configuration means registry.terraform.io/ns/type
      // through this mirror, and a module source "HOST/ns/name/system" the same.
      ctx.body = { 'providers.v1': '/hosts/registry.terraform.io/v1/providers/', 'modules.v1': '/hosts/registry.terraform.io/v1/modules/' };
      return;
    }
    await next();
  });
  for (const r of deps.routers ?? []) {
    mount(app, r);
  }
  // Anything else under the admin prefix is a JSON 404, not a provider lookup.
  app.use(async (ctx, next) => {
    if (ctx.path === '/admin/api' || ctx.path.startsWith('/admin/api/')) {
      ctx.status = 404;
      ctx.body = { error: { message: `no admin route ${ctx.method} ${ctx.path}` } };
      return;
    }
    await next();
  });
  if (!serveMirror) {
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = { error: { message: `no route ${ctx.method} ${ctx.path} on the admin listener` } };
    });
    return app;
  }
  if (deps.clientConfig) mount(app, clientConfigRoutes(deps.clientConfig), { allowedMethods: false });
  const registry = registryRoutes(deps.mirror);
  mount(app, registry);
  const modules = moduleRoutes({
    mirror: deps.mirror,
    store: deps.store,
    presignTtl: deps.presignTtl,
    publicUrl: deps.publicUrl ?? deps.clientConfig?.publicUrl ?? '',
    moduleDownloads: deps.moduleDownloads ?? { record: () => undefined },
  });
  mount(app, modules);
  const mirror = mirrorRoutes(deps);
  app.use(mirror.routes());
  app.use(mirror.allowedMethods());
  return app;
}

/**
 * Mounts a router so that it runs only for paths one of its routes can match:
 * a router tests every route's pattern on every request it sees, and a warm
 * mirror read would otherwise pay for all the admin API's routes. Paths are
 * compared case-insensitively, as the router matches them.
 */
function mount(app: Koa, router: Router, opts: { allowedMethods?: boolean } = {}): void {
  const handlers = [router.routes(), ...(opts.allowedMethods === false ? [] : [router.allowedMethods()])] as Koa.Middleware[];
  const prefixes = [...new Set(router.stack.map((layer) => String(layer.path).split(/[:(*]/)[0]!.toLowerCase()))];
  if (prefixes.some((p) => p === '' || p === '/')) {
    for (const h of handlers) app.use(h);
    return;
  }
  const mayMatch = (path: string) => {
    const lower = path.toLowerCase();
    return prefixes.some((p) => lower.startsWith(p));
  };
  for (const h of handlers) {
    const guarded: Koa.Middleware = (ctx, next) => (mayMatch(ctx.path) ? h(ctx, next) : next());
    // @koa/router marks its dispatch middleware with the router; keep that, so what is mounted can be listed.
    app.use(Object.assign(guarded, { router: (h as { router?: Router }).router }));
  }
}
