import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setApi } from '../../../../server/src/ui/src/api';
import { useDashboard } from '../../../../server/src/ui/src/stores/dashboard';
import { apiOver, fakeServer } from '../fake-server';

describe('dashboard store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('shows what loaded when another source fails, with that source’s error', async () => {
    const server = fakeServer({
      'GET /admin/api/stats/storage': { status: 403, body: { error: { message: 'the role may not call this route' } } },
      'GET /admin/api/jobs': { body: { items: [], total: 0 } },
      'GET /metrics': { text: 'pull_misses_total 4\npull_upstream_state{hostname="registry.terraform.io"} 1\n' },
    });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const dashboard = useDashboard();
    await dashboard.load();
    expect(dashboard.storageError).toMatchObject({ status: 403 });
    expect(dashboard.jobs).toEqual([]);
    expect(dashboard.pull).toMatchObject({ misses: 4, upstreams: [{ hostname: 'registry.terraform.io', backingOff: true }] });
    expect(server.seen.find((s) => s.path === '/metrics')!.authorization).toBeNull();
    expect(server.seen.find((s) => s.path === '/admin/api/jobs')!.search).toBe('?limit=8&offset=0');
    expect(dashboard.modules).toBeUndefined();
  });

  it('counts modules where the server has the module API, with the session token', async () => {
    const server = fakeServer({
      'GET /admin/api/stats/storage': { status: 500, body: { error: { message: 'not under test' } } },
      'GET /admin/api/jobs': { body: { items: [], total: 0 } },
      'GET /metrics': { text: '' },
      'GET /admin/api/modules': { body: { items: [{ id: 1 }], total: 17, limit: 1, offset: 0 } },
    });
    setApi(apiOver(server, { token: () => 'tok', unauthorized: () => {} }));
    const dashboard = useDashboard();
    await dashboard.load();
    expect(dashboard.modules).toBe(17);
    expect(server.seen.find((s) => s.path === '/admin/api/modules')).toMatchObject({ authorization: 'Bearer tok', search: '?limit=1&offset=0' });
  });
});
