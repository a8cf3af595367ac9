import { route, type RouteSpec } from '../framework/route.js';
import { JOB_READERS, JOB_ROLES } from '../principal.js';
import { presentStatus } from './presenters.js';
import { applyBody, deleteQuery, setParams, statusSchema } from './schemas.js';
import type { ProviderSetService } from './service.js';

export interface ProviderSetRoutesDeps {
  sets: ProviderSetService;
}

const TAG = 'provider-sets';
const PATH = '/provider-sets/:namespace/:name';

/** The Kubernetes operator's API: one idempotent PUT per reconcile, a status read, and a delete for the finalizer. */
export function providerSetRoutes(deps: ProviderSetRoutesDeps): RouteSpec[] {
  return [
    route({
      method: 'put',
      path: PATH,
      summary: 'Declare what a ProviderSet or ProviderMirror wants held; plans once per generation and queues a job for what is missing',
      tag: TAG,
      access: JOB_ROLES,
      params: setParams,
      body: applyBody,
      audit: 'provider-set.apply',
      responses: {
        200: { description: 'the status after planning (or as it stood, when this generation was already planned)', schema: statusSchema },
        400: { description: 'an invalid spec, or a provider the upstream does not have' },
      },
      handler: async ({ params, body, req }) => {
        const status = await deps.sets.apply({ ...params, ...body, signal: req.signal });
        return {
          body: presentStatus(status),
          audit: {
            resource: `provider-set:${params.namespace}/${params.name}`,
            details: { uid: body.uid, generation: body.generation, resync: body.resync ?? false, jobId: status.jobId, desired: status.desired },
          },
        };
      },
    }),
    route({
      method: 'get',
      path: PATH,
      summary: "A provider set's status: desired, ready, failed and pending items, its latest job and planning problems",
      tag: TAG,
      access: JOB_READERS,
      params: setParams,
      responses: { 200: { description: 'the status', schema: statusSchema }, 404: { description: 'no such provider set' } },
      handler: async ({ params }) => ({ body: presentStatus(deps.sets.status(params)) }),
    }),
    route({
      method: 'delete',
      path: PATH,
      summary: 'Forget a provider set; with purge=true also remove the packages no other set wants',
      tag: TAG,
      access: JOB_ROLES,
      params: setParams,
      query: deleteQuery,
      audit: 'provider-set.delete',
      responses: { 204: { description: 'the set is gone (or was never known)' } },
      handler: async ({ params, query }) => {
        const outcome = await deps.sets.remove(params, query.purge);
        return {
          status: 204,
          audit: {
            resource: `provider-set:${params.namespace}/${params.name}`,
            details: { purge: query.purge, known: outcome.known, packagesDeleted: outcome.packagesDeleted, objectsDeleted: outcome.objectsDeleted, objectsFailed: outcome.objectsFailed.slice(0, 50) },
          },
        };
      },
    }),
  ];
}
