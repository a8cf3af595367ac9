import type Router from '@koa/router';
import type { Config } from '../config/types.js';
import { JobRepository } from '../db/jobs.js';
import type { Runtime } from '../runtime.js';
import type { ProviderRegistry } from '../upstream/registry.js';
import { authRoutes } from './auth/routes.js';
import type { AuthService } from './auth/service.js';
import { configRoutes } from './config-route.js';
import { openApiDocument } from './framework/openapi.js';
import { route, type RouteSpec } from './framework/route.js';
import { buildAdminRouter, type AuditEntry } from './framework/router.js';
import { jobRoutes } from './jobs/routes.js';
import { providerRoutes } from './providers/routes.js';
import { statsRoutes } from './stats/routes.js';

export interface AdminApiDeps {
  runtime: Runtime;
  config: Config;
  auth: AuthService;
  registries: { get(hostname: string): ProviderRegistry };
  /** Drops the mirror's cached documents after a write. */
  invalidate(): void;
  audit?(entry: AuditEntry): void;
  /** Routes of modules wired by the caller (audit, backup). */
  extraRoutes?: RouteSpec[];
  version: string;
}

export interface AdminApi {
  router: Router;
  routes: RouteSpec[];
  document: Record<string, unknown>;
}

/** Every admin route, the router built from them, and the OpenAPI document describing exactly those. */
export function adminApi(deps: AdminApiDeps): AdminApi {
  const { runtime, config } = deps;
  const routes: RouteSpec[] = [
    ...authRoutes({ auth: deps.auth }),
    ...providerRoutes({ providers: runtime.providers, store: runtime.store, invalidate: deps.invalidate }),
    ...jobRoutes({ jobs: new JobRepository(runtime.db), registries: deps.registries, maxAttempts: config.jobs.maxAttempts }),
    ...statsRoutes({ providers: runtime.providers }),
    ...configRoutes({ config }),
    ...(deps.extraRoutes ?? []),
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
    authenticate: (bearer) => deps.auth.authenticate(bearer),
    audit: deps.audit,
  });
  return { router, routes, document };
}
