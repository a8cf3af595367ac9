import Router from '@koa/router';
import type { Database } from '../db/database.js';
import { pingDatabase } from '../db/database.js';
import type { ObjectStore } from '../storage/store.js';

/**
 * /healthz: the process is up and serving (liveness; no dependencies, so a
 * storage outage does not get the pod restarted). /readyz: the database and
 * the object store answer (readiness).
 */
export function healthRoutes(deps: { db: Database; store: ObjectStore; readyTimeoutMs?: number }): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks: Record<string, string> = {};
    try {
      pingDatabase(deps.db);
      checks.database = 'ok';
    } catch (err) {
      checks.database = `failed: ${(err as Error).message}`;
    }
    try {
      await deps.store.check(AbortSignal.timeout(deps.readyTimeoutMs ?? 3_000));
      checks.storage = 'ok';
    } catch (err) {
      checks.storage = `failed: ${(err as Error).message}`;
    }
    const ready = Object.values(checks).every((c) => c === 'ok');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ok' : 'unavailable', checks };
  });
  return router;
}
