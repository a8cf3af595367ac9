import test from 'ava';
import { configRoutes } from '../../../server/src/admin/config-route.js';
import { openApiDocument } from '../../../server/src/admin/framework/openapi.js';
import { jobRoutes } from '../../../server/src/admin/jobs/routes.js';
import { providerRoutes } from '../../../server/src/admin/providers/routes.js';
import { statsRoutes } from '../../../server/src/admin/stats/routes.js';
import { createWorld, fakeRegistries } from './helpers.js';

test('the provider, job, stats and config routes describe themselves in OpenAPI with their roles', async (t) => {
  const world = await createWorld();
  t.teardown(() => world.close());
  const routes = [
    ...providerRoutes(world),
    ...jobRoutes({ jobs: world.jobs, registries: fakeRegistries({}), maxAttempts: 3 }),
    ...statsRoutes(world),
    ...configRoutes({ config: {} as never }),
  ];
  const doc = openApiDocument(routes, { version: 'test' }) as { paths: Record<string, Record<string, any>> };
  const roles = Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => `${m.toUpperCase()} ${p} ${op['x-roles'].join(',')}`));
  t.deepEqual(roles.sort(), [
    'DELETE /admin/api/providers/{id} admin',
    'GET /admin/api/config admin',
    'GET /admin/api/jobs admin,operator,viewer',
    'GET /admin/api/jobs/{id} admin,operator,viewer',
    'GET /admin/api/providers admin,viewer',
    'GET /admin/api/providers/{id} admin,viewer',
    'GET /admin/api/stats/pull-through admin,viewer',
    'GET /admin/api/stats/storage admin,viewer',
    'PATCH /admin/api/providers/{id} admin',
    'POST /admin/api/jobs/{id}/retry admin,operator',
    'POST /admin/api/providers/load admin,operator',
    'POST /admin/api/providers/load/plan admin,operator',
  ].sort());
  const load = doc.paths['/admin/api/providers/load']!.post;
  t.deepEqual(Object.keys(load.requestBody.content), ['application/json', 'text/plain', 'application/hcl', 'application/yaml', 'application/x-yaml', 'text/yaml']);
  const list = doc.paths['/admin/api/providers']!.get;
  t.deepEqual(list.parameters.map((p: any) => p.name), ['hostname', 'namespace', 'type', 'q', 'status', 'origin', 'limit', 'offset']);
});
