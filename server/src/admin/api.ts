import type Router from '@koa/router';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime.js';
import { AuditLog } from './audit/index.js';
import { auditRoutes } from './audit/routes.js';
import { BackupService, backupRoutes } from './backup/index.js';
import type { ProviderRegistry } from '../upstream/registry.js';
import { authRoutes } from './auth/routes.js';
import { AuthService } from './auth/service.js';
import { configRoutes } from './config-route.js';
import { openApiDocument } from './framework/openapi.js';
import { route, type RouteSpec } from './framework/route.js';
import { buildAdminRouter, type AuditEntry } from './framework/router.js';
import { jobRoutes } from './jobs/routes.js';
import { moduleRoutes } from './modules/routes.js';
import type { ModuleFetcher } from '../modules/ports.js';
import { ProviderSetService, providerSetRoutes } from './provider-sets/index.js';
import { providerRoutes } from './providers/routes.js';
import { statsRoutes } from './stats/routes.js';
import type { PullThroughSource } from './stats/pull-through.js';
import { userRoutes } from './users/routes.js';
import { UserService } from './users/service.js';

export interface AdminApiDeps {
  runtime: Runtime;
  config: Config;
  registries: { get(hostname: string): ProviderRegistry };
  /** Drops the mirror's cached documents after a write. */
  invalidate(): void;
  logger: Logger;
  version: string;
  /** Replaces the audit sink (tests). */
  audit?(entry: AuditEntry): void;
  /** The module fetcher's ref lookup, for drift checks (POST /modules/{id}/drift answers 503 without it). */
  moduleRefs?: Pick<ModuleFetcher, 'resolveRef'>;
  /** The read path's pull-through seam, for GET /stats/pull-through (without it: reported off). */
  pullThrough?: PullThroughSource;
}

export interface AdminApi {
  router: Router;
  routes: RouteSpec[];
  document: Record<string, unknown>;
  /** Stops background work (audit retention). */
  close(): void;
}

/** Every admin route, the router built from them, and the OpenAPI document describing exactly those. */
export function adminApi(deps: AdminApiDeps): AdminApi {
  const { runtime, config } = deps;
  const auth = new AuthService(runtime.repos, config.auth, {
    passwords: { cost: config.auth.bcryptCost },
    sessionTtlMs: config.auth.sessionTtl * 1000,
  });
  const audit = new AuditLog({ repo: runtime.repos.audit, logger: deps.logger });
  audit.startRetention(config.audit.retentionDays);
  const jobs = runtime.repos.jobs;
  const sets = new ProviderSetService({
    sets: runtime.repos.sets,
    providers: runtime.providers,
    modules: runtime.repos.modules,
    jobs,
    store: runtime.store,
    registries: deps.registries,
    maxAttempts: config.jobs.maxAttempts,
    invalidate: deps.invalidate,
  });
  const routes: RouteSpec[] = [
    ...authRoutes({ auth, audit }),
    ...userRoutes({ users: new UserService(runtime.repos, auth) }),
    ...providerRoutes({ providers: runtime.providers, store: runtime.store, invalidate: deps.invalidate }),
    ...moduleRoutes({
      modules: runtime.repos.modules,
      store: runtime.store,
      invalidate: deps.invalidate,
      ...(deps.moduleRefs ? { refs: deps.moduleRefs } : {}),
    }),
    ...jobRoutes({ jobs, registries: deps.registries, maxAttempts: config.jobs.maxAttempts, providers: runtime.providers, modules: runtime.repos.modules }),
    ...providerSetRoutes({ sets }),
    ...statsRoutes({
      providers: runtime.providers,
      modules: runtime.repos.modules,
      upstreams: Object.keys(config.upstreams),
      ...(deps.pullThrough ? { pullThrough: deps.pullThrough } : {}),
    }),
    ...configRoutes({ config }),
    ...auditRoutes({ audit }),
    ...backupRoutes({ backups: new BackupService({ db: runtime.db, store: runtime.store }) }),
  ];
  let document: Record<string, unknown> = {};
  routes.push(
    route({
      method: 'get',
      path: '/openapi.json',
      summary: 'This OpenAPI 3.1 document',
      tag: 'meta',
      access: 'public',
      responses: { 200: { description: 'the document' } },
      handler: async () => ({ body: document }),
    }),
  );
  document = openApiDocument(routes, { version: deps.version });
  const router = buildAdminRouter(routes, {
    authenticate: (bearer) => auth.authenticate(bearer),
    audit: deps.audit ?? audit.record,
  });
  return { router, routes, document, close: () => audit.stopRetention() };
}
