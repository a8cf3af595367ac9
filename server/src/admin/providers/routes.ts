import { z } from 'zod';
import { route, type RouteSpec } from '../framework/route.js';
import { ADMINS, READERS } from '../principal.js';
import { presentProviderDetail, presentProviderList, presentProviderSummary, sourceOf } from './presenters.js';
import { deleteProvider, getProviderDetail, listProviders, updateProviderStatus, type ProviderServiceDeps } from './service.js';

export type ProviderRoutesDeps = ProviderServiceDeps;

const TAG = 'providers';
const status = z.enum(['active', 'deprecated', 'blocked']);
const idParams = z.object({ id: z.coerce.number().int().positive() });

const listQuery = z.object({
  hostname: z.string().min(1).max(260).optional(),
  namespace: z.string().min(1).max(64).optional(),
  type: z.string().min(1).max(64).optional(),
  q: z.string().min(1).max(400).optional().describe('substring of hostname/namespace/type'),
  status: status.optional(),
  origin: z
    .enum(['imported', 'loaded', 'pulled', 'set'])
    .optional()
    .describe('who brought or holds any of its packages: imported (tfmirror import), loaded (admin API or tfmirror load), pulled (pull-through), set (a ProviderSet or ProviderMirror)'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const summary = z.object({
  id: z.number(),
  source: z.string(),
  status,
  versions: z.number(),
  packages: z.number(),
  bytes: z.number(),
  downloads: z.number(),
  updatedAt: z.string(),
});

const detail = z.object({
  id: z.number(),
  source: z.string(),
  status,
  versions: z.array(
    z.object({
      version: z.string(),
      origin: z.enum(['loaded', 'pulled', 'imported']),
      protocols: z.array(z.string()),
      createdAt: z.string(),
      keyIds: z.array(z.string()),
      signed: z.boolean().describe('false when no signing key verified it: imported, from a network mirror, or taken with allow_unsigned'),
      heldBy: z.array(z.string()).describe('who brought or holds its packages: imported, loaded, pulled, set:{kind}/{namespace}/{name}'),
      packages: z.array(
        z.object({
          platform: z.string(),
          filename: z.string(),
          size: z.number(),
          sha256: z.string(),
          h1: z.string(),
          zh: z.string(),
          origin: z.enum(['loaded', 'pulled', 'imported']).describe("the version's origin: pulled = brought by pull-through"),
          downloads: z.number().describe('the same as downloadCount (kept for existing clients)'),
          downloadCount: z.number(),
          firstDownloadAt: z.string().nullable(),
          lastDownloadAt: z.string().nullable(),
          heldBy: z.array(z.string()),
        }),
      ),
    }),
  ),
});

/** Browse and curate the providers the mirror holds. */
export function providerRoutes(deps: ProviderRoutesDeps): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/providers',
      summary: 'List providers with their usage, filtered and paged',
      tag: TAG,
      access: READERS,
      query: listQuery,
      responses: { 200: { description: 'one page of providers', schema: z.object({ items: z.array(summary), total: z.number() }) } },
      handler: async ({ query }) => ({ body: presentProviderList(listProviders(deps, query)) }),
    }),
    route({
      method: 'get',
      path: '/providers/:id',
      summary: 'A provider with its versions and packages',
      tag: TAG,
      access: READERS,
      params: idParams,
      responses: { 200: { description: 'the provider', schema: detail }, 404: { description: 'no such provider' } },
      handler: async ({ params }) => ({ body: presentProviderDetail(getProviderDetail(deps, params.id)) }),
    }),
    route({
      method: 'patch',
      path: '/providers/:id',
      summary: 'Set a provider active, deprecated (served with a Warning) or blocked (hidden from the mirror)',
      tag: TAG,
      access: ADMINS,
      params: idParams,
      body: z.object({ status }).strict(),
      audit: 'provider.update',
      responses: { 200: { description: 'the updated provider', schema: summary }, 404: { description: 'no such provider' } },
      handler: async ({ params, body }) => {
        const { previous, updated } = updateProviderStatus(deps, params.id, body.status);
        return {
          body: presentProviderSummary(updated),
          audit: { resource: `provider:${params.id}`, details: { source: sourceOf(updated), from: previous, to: updated.status } },
        };
      },
    }),
    route({
      method: 'delete',
      path: '/providers/:id',
      summary: 'Delete a provider: its rows, then its stored objects',
      tag: TAG,
      access: ADMINS,
      params: idParams,
      audit: 'provider.delete',
      responses: { 204: { description: 'deleted' }, 404: { description: 'no such provider' } },
      handler: async ({ params }) => {
        const outcome = await deleteProvider(deps, params.id);
        const details = {
          source: sourceOf(outcome.provider),
          objectsDeleted: outcome.objectsDeleted,
          objectsFailed: outcome.objectsFailed.length,
          failedKeys: outcome.objectsFailed.slice(0, 20),
        };
        return { status: 204, audit: { resource: `provider:${params.id}`, details } };
      },
    }),
  ];
}
