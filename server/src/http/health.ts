import Router from '@koa/router';
import type { Database } from '../db/database.js';
import { pingDatabase } from '../db/database.js';
import type { ObjectStore } from '../storage/store.js';

export type ReadinessCheck = 'database' | 'storage';

export interface HealthDeps {
  db: Database;
  store: ObjectStore;
  readyTimeoutMs?: number;
  /** Where a failed check's error goes (the log): the probe's body names the check only. */
  onCheckFailed?: (check: ReadinessCheck, err: unknown) => void;
}

/**
 * /healthz: the process is up and serving (liveness; no dependencies, so a
 * storage outage does not get the pod restarted). /readyz: the database and
 * the object store answer (readiness). /readyz is unauthenticated, so it says
 * which check failed and nothing more: driver and S3 errors carry paths,
 * bucket names and signed URLs.
 */
export function healthRoutes(deps: HealthDeps): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks: Record<ReadinessCheck, 'ok' | 'failed'> = {
      database: await outcome('database', deps, async () => pingDatabase(deps.db)),
      storage: await outcome('storage', deps, () => deps.store.check(AbortSignal.timeout(deps.readyTimeoutMs ?? 3_000))),
    };
    const ready = Object.values(checks).every((c) => c === 'ok');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ok' : 'unavailable', checks };
  });
  return router;
}

async function outcome(check: ReadinessCheck, deps: HealthDeps, run: () => Promise<void>): Promise<'ok' | 'failed'> {
  try {
    await run();
    return 'ok';
  } catch (err) {
    deps.onCheckFailed?.(check, err);
    return 'failed';
  }
}
