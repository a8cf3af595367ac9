import { z } from 'zod';
import type { ProviderSetKey, ProviderSetName } from '../../db/provider-sets.js';
import { InvalidInput } from '../../errors.js';
import { route, type RouteSpec } from '../framework/route.js';
import { JOB_READERS, JOB_ROLES } from '../principal.js';
import { providerSetListRoute } from './list.js';
import { presentStatus } from './presenters.js';
import { applyBody, deleteQuery, setKind, setParams, statusSchema, type ApplyBody } from './schemas.js';
import type { ProviderSetService } from './service.js';

export interface ProviderSetRoutesDeps {
  sets: ProviderSetService;
}

const TAG = 'provider-sets';
/** The kind is part of a set's key: a ProviderSet, a ProviderMirror and a ModuleSet may share a namespace and name. */
const PATH = '/provider-sets/:kind/:namespace/:name';
/** The older path without the kind: PUT takes it from the body; GET and DELETE find the one set of that name. */
const NAME_PATH = '/provider-sets/:namespace/:name';

const keyParams = setParams.extend({ kind: setKind });

/** The Kubernetes operator's API: one idempotent PUT per reconcile, a status read, and a delete for the finalizer. */
export function providerSetRoutes(deps: ProviderSetRoutesDeps): RouteSpec[] {
  const apply = async (key: ProviderSetKey, body: ApplyBody, signal: AbortSignal) => {
    const status = await deps.sets.apply({ ...body, namespace: key.namespace, name: key.name, signal });
    return {
      body: presentStatus(status),
      audit: {
        resource: resourceOf(key),
        details: { uid: body.uid, generation: body.generation, resync: body.resync ?? false, jobId: status.jobId, desired: status.desired },
      },
    };
  };
  const remove = async (key: ProviderSetKey | undefined, name: ProviderSetName, purge: boolean) => {
    const outcome = key ? await deps.sets.remove(key, purge) : { known: false, packagesDeleted: 0, moduleVersionsDeleted: 0, objectsDeleted: 0, objectsFailed: [] };
    return {
      status: 204,
      audit: {
        resource: key ? resourceOf(key) : `provider-set:${name.namespace}/${name.name}`,
        details: {
          purge,
          known: outcome.known,
          packagesDeleted: outcome.packagesDeleted,
          moduleVersionsDeleted: outcome.moduleVersionsDeleted,
          objectsDeleted: outcome.objectsDeleted,
          objectsFailed: outcome.objectsFailed.slice(0, 50),
        },
      },
    };
  };
  const putResponses = {
    200: { description: 'the status after planning (or as it stood, when this generation was already planned)', schema: statusSchema },
    400: { description: 'an invalid spec, a provider the upstream does not have, a hostname with no upstream block, or a body kind that differs from the path' },
    502: { description: 'the upstream failed while planning: unreachable, an error status, or an invalid, oversized or truncated answer' },
    504: { description: 'the upstream did not answer in time while planning' },
  };
  return [
    providerSetListRoute(deps),
    route({
      method: 'put',
      path: PATH,
      summary:
        'Declare what a ProviderSet, ProviderMirror or ModuleSet wants held; plans once per generation and queues a job for what is missing. ' +
        'A ModuleSet holds module versions (items with platform ""); module blocks in a ProviderSet\'s spec.hcl are held by that set too',
      tag: TAG,
      access: JOB_ROLES,
      params: keyParams,
      body: applyBody,
      audit: 'provider-set.apply',
      responses: putResponses,
      handler: async ({ params, body, req }) => {
        if (body.kind !== params.kind) throw new InvalidInput(`the body's kind ${body.kind} differs from the path's ${params.kind}`, { key: 'kind' });
        return apply(params, body, req.signal);
      },
    }),
    route({
      method: 'get',
      path: PATH,
      summary: "A provider set's status: desired, ready, failed and pending items, its latest job and planning problems",
      tag: TAG,
      access: JOB_READERS,
      params: keyParams,
      responses: { 200: { description: 'the status', schema: statusSchema }, 404: { description: 'no such provider set' } },
      handler: async ({ params }) => ({ body: presentStatus(deps.sets.status(params)) }),
    }),
    route({
      method: 'delete',
      path: PATH,
      summary: 'Forget a provider set; with purge=true also remove the packages and module versions whose last holder was this set',
      tag: TAG,
      access: JOB_ROLES,
      params: keyParams,
      query: deleteQuery,
      audit: 'provider-set.delete',
      responses: { 204: { description: 'the set is gone (or was never known)' } },
      handler: async ({ params, query }) => remove(params, params, query.purge),
    }),
    route({
      method: 'put',
      path: NAME_PATH,
      summary: 'Older form of PUT /provider-sets/{kind}/{namespace}/{name}: the kind comes from the body',
      tag: TAG,
      access: JOB_ROLES,
      params: setParams,
      body: applyBody,
      audit: 'provider-set.apply',
      responses: putResponses,
      handler: async ({ params, body, req }) => apply({ ...params, kind: body.kind }, body, req.signal),
    }),
    route({
      method: 'get',
      path: NAME_PATH,
      summary: 'Older form of GET /provider-sets/{kind}/{namespace}/{name}: the one set of any kind with this name',
      tag: TAG,
      access: JOB_READERS,
      params: setParams,
      responses: {
        200: { description: 'the status', schema: statusSchema },
        404: { description: 'no such provider set' },
        409: { description: 'sets of more than one kind (ProviderSet, ProviderMirror, ModuleSet) have this name: use the path with the kind' },
      },
      handler: async ({ params }) => ({ body: presentStatus(deps.sets.statusByName(params)) }),
    }),
    route({
      method: 'delete',
      path: NAME_PATH,
      summary: 'Older form of DELETE /provider-sets/{kind}/{namespace}/{name}: the one set of any kind with this name',
      tag: TAG,
      access: JOB_ROLES,
      params: setParams,
      query: deleteQuery,
      audit: 'provider-set.delete',
      responses: {
        204: { description: 'the set is gone (or was never known)' },
        409: { description: 'sets of more than one kind (ProviderSet, ProviderMirror, ModuleSet) have this name: use the path with the kind' },
      },
      handler: async ({ params, query }) => {
        const kind = deps.sets.kindByName(params);
        return remove(kind && { ...params, kind }, params, query.purge);
      },
    }),
  ];
}

function resourceOf(key: ProviderSetKey): string {
  return `provider-set:${key.kind}/${key.namespace}/${key.name}`;
}
