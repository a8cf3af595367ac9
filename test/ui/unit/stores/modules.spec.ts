import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setApi } from '../../../../server/src/ui/src/api';
import { useModules, type ModuleDetail } from '../../../../server/src/ui/src/stores/modules';
import { apiOver, fakeServer } from '../fake-server';

const vpc: ModuleDetail = {
  id: 4,
  source: 'registry.terraform.io/terraform-aws-modules/vpc/aws',
  hostname: 'registry.terraform.io',
  namespace: 'terraform-aws-modules',
  name: 'vpc',
  system: 'aws',
  status: 'active',
  createdAt: '2026-12-01T10:00:00.000Z',
  versions: [],
};

describe('modules store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('lists with the filters given and the session token, leaving empty ones out', async () => {
    const server = fakeServer({ 'GET /admin/api/modules': { body: { items: [], total: 0, limit: 25, offset: 25 } } });
    setApi(apiOver(server, { token: () => 'session-token', unauthorized: () => {} }));
    const modules = useModules();
    await modules.fetch({ query: 'vpc', status: 'blocked', hostname: '', limit: 25, offset: 25 });
    expect(server.seen[0]!.search).toBe('?query=vpc&status=blocked&limit=25&offset=25');
    expect(server.seen[0]!.authorization).toBe('Bearer session-token');
    expect(modules.page?.total).toBe(0);
  });

  it('blocks by PATCH with the status, and a drift check shows what moved beside the module it returns', async () => {
    const server = fakeServer({
      'GET /admin/api/modules/4': { body: vpc },
      'PATCH /admin/api/modules/4': (s) => ({ body: { ...vpc, status: JSON.parse(s.body).status } }),
      'POST /admin/api/modules/4/drift': { body: { checked: 2, drifted: ['5.1.0'], problems: [], module: { ...vpc, status: 'blocked' } } },
    });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const modules = useModules();
    await modules.fetchDetail(4);
    await modules.setStatus(4, 'blocked');
    expect(server.seen[1]).toMatchObject({ method: 'PATCH', body: '{"status":"blocked"}' });
    expect(modules.detail?.status).toBe('blocked');
    await modules.checkDrift(4);
    expect(modules.drift).toEqual({ checked: 2, drifted: ['5.1.0'], problems: [] });
  });

  it('a server without the module API leaves an error to show, not a crash', async () => {
    const server = fakeServer({});
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const modules = useModules();
    await modules.fetch();
    expect(modules.error).toMatchObject({ status: 404 });
    expect(modules.loading).toBe(false);
  });
});
