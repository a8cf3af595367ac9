import { route, type RouteSpec } from '../framework/route.js';
import { ADMINS, READERS } from '../principal.js';
import { moduleSourceOf, presentDrift, presentModuleDetail, presentModuleList } from './presenters.js';
import { detail, driftReport, idParams, list, listQuery, statusBody, versionParams } from './schemas.js';
import {
  checkModuleDrift,
  deleteModule,
  deleteModuleVersion,
  getModuleDetail,
  listModules,
  updateModuleStatus,
  type ModuleServiceDeps,
} from './service.js';

export type ModuleRoutesDeps = ModuleServiceDeps;

const TAG = 'modules';
/** PATCH names its audit action by the status it sets. */
const STATUS_ACTIONS = { active: 'module.activate', deprecated: 'module.deprecate', blocked: 'module.block' } as const;

/** Browse and curate the modules the mirror holds. */
export function moduleRoutes(deps: ModuleRoutesDeps): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/modules',
      summary: 'List modules with their usage, filtered and paged',
      tag: TAG,
      access: READERS,
      query: listQuery,
      responses: { 200: { description: 'one page of modules', schema: list } },
      handler: async ({ query }) => ({ body: presentModuleList(listModules(deps, query), query) }),
    }),
    route({
      method: 'get',
      path: '/modules/:id',
      summary: 'A module with its versions: location, pinned commit, archive digest and size, downloads, holders, drift',
      tag: TAG,
      access: READERS,
      params: idParams,
      responses: { 200: { description: 'the module', schema: detail }, 404: { description: 'no such module' } },
      handler: async ({ params }) => ({ body: presentModuleDetail(getModuleDetail(deps, params.id)) }),
    }),
    route({
      method: 'patch',
      path: '/modules/:id',
      summary: 'Set a module active, deprecated (served with a Warning) or blocked (absent from the registry routes)',
      tag: TAG,
      access: ADMINS,
      params: idParams,
      body: statusBody,
      audit: 'module.update',
      responses: { 200: { description: 'the updated module', schema: detail }, 404: { description: 'no such module' } },
      handler: async ({ params, body }) => {
        const { previous, detail: updated } = updateModuleStatus(deps, params.id, body.status);
        return {
          body: presentModuleDetail(updated),
          audit: {
            action: STATUS_ACTIONS[body.status],
            resource: `module:${params.id}`,
            details: { source: moduleSourceOf(updated.module), from: previous, to: body.status },
          },
        };
      },
    }),
    route({
      method: 'delete',
      path: '/modules/:id',
      summary: 'Delete a module and its versions: the rows, then the archives no other row names',
      tag: TAG,
      access: ADMINS,
      params: idParams,
      audit: 'module.delete',
      responses: { 204: { description: 'deleted' }, 404: { description: 'no such module' } },
      handler: async ({ params }) => {
        const outcome = await deleteModule(deps, params.id);
        const details = {
          source: moduleSourceOf(outcome.module),
          objectsDeleted: outcome.objectsDeleted,
          objectsFailed: outcome.objectsFailed.length,
          failedKeys: outcome.objectsFailed.slice(0, 20),
        };
        return { status: 204, audit: { resource: `module:${params.id}`, details } };
      },
    }),
    route({
      method: 'delete',
      path: '/modules/:id/versions/:version',
      summary: 'Delete one version of a module: its row, then its archive when no other row names it',
      tag: TAG,
      access: ADMINS,
      params: versionParams,
      audit: 'module.version.delete',
      responses: { 204: { description: 'deleted' }, 404: { description: 'no such module or version' } },
      handler: async ({ params }) => {
        const outcome = await deleteModuleVersion(deps, params.id, params.version);
        const details = {
          source: moduleSourceOf(outcome.module),
          version: outcome.version.version,
          objectsDeleted: outcome.objectsDeleted,
          objectsFailed: outcome.objectsFailed.length,
        };
        return { status: 204, audit: { resource: `module:${params.id}`, details } };
      },
    }),
    route({
      method: 'post',
      path: '/modules/:id/drift',
      summary: "Ask upstream where each git version's ref points now; a moved tag is reported as drift and the pinned commit is still served",
      tag: TAG,
      access: ADMINS,
      params: idParams,
      audit: 'module.drift-check',
      responses: {
        200: { description: 'what was checked, what drifted, and the module with its versions', schema: driftReport },
        404: { description: 'no such module' },
        503: { description: 'this server cannot reach git upstreams' },
      },
      handler: async ({ params, req }) => {
        const outcome = await checkModuleDrift(deps, params.id, req.signal);
        const details = { source: moduleSourceOf(outcome.detail.module), checked: outcome.checked, drifted: outcome.drifted, problems: outcome.problems.length };
        return { body: presentDrift(outcome), audit: { resource: `module:${params.id}`, details } };
      },
    }),
  ];
}
