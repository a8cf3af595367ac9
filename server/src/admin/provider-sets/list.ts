import { z } from 'zod';
import type { SetRecordIdentity } from '../../db/provider-sets.js';
import { route, type RouteSpec } from '../framework/route.js';
import { JOB_READERS } from '../principal.js';
import { setKind } from './schemas.js';
import type { ProviderSetService } from './service.js';

/**
 * GET /provider-sets: the key, uid and generation of every set the server
 * holds. The operator compares it with the cluster on a full resync, to drop
 * the records of custom resources deleted while it was not watching (a
 * Retain object has no finalizer to hold its deletion until the operator
 * sees it). No specs: the list stays small however large the sets are.
 */

export const setRecordSchema = z.object({
  kind: setKind,
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  generation: z.number(),
});

export const setListSchema = z.object({ items: z.array(setRecordSchema) });

export function presentSetRecord(r: SetRecordIdentity) {
  return { kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid, generation: r.generation };
}

export function providerSetListRoute(deps: { sets: ProviderSetService }): RouteSpec {
  return route({
    method: 'get',
    path: '/provider-sets',
    summary: 'Every provider set the server holds: kind, namespace, name, uid and generation',
    tag: 'provider-sets',
    access: JOB_READERS,
    responses: { 200: { description: 'the sets, by namespace, name and kind', schema: setListSchema } },
    handler: async () => ({ body: { items: deps.sets.list().map(presentSetRecord) } }),
  });
}
