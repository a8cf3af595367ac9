import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryHistory } from 'vue-router';
import { setApi } from '../../../../server/src/ui/src/api';
import { buildRouter } from '../../../../server/src/ui/src/router';
import { useDashboard } from '../../../../server/src/ui/src/stores/dashboard';
import Dashboard from '../../../../server/src/ui/src/views/Dashboard.vue';
import { apiOver, fakeServer, type Answer } from '../fake-server';

const zeros = { misses: 0, hits: 0, pulled: 0, stale: 0, refused: 0, coalesced: 0, failed: 0, hitRatio: null };
const retryAt = '2030-01-02T03:04:05.000Z';
const report = {
  enabled: true,
  hitRatio: 0.25,
  providers: { ...zeros, misses: 3, hits: 1, pulled: 2, hitRatio: 1 / 3 },
  modules: { ...zeros, misses: 1, failed: 1, hitRatio: 0 },
  total: { ...zeros, misses: 4, hits: 1, pulled: 2, failed: 1, hitRatio: 0.25 },
  upstreams: [
    { hostname: 'registry.opentofu.org', state: 'up', retryAt: null, consecutiveFailures: 0 },
    { hostname: 'registry.terraform.io', state: 'backing_off', retryAt, consecutiveFailures: 2 },
  ],
};

function serve(pull: Answer, extra: Record<string, Answer> = {}) {
  const server = fakeServer({
    'GET /admin/api/stats/storage': { status: 403, body: { error: { message: 'the role may not call this route' } } },
    'GET /admin/api/jobs': { body: { items: [], total: 0 } },
    'GET /admin/api/stats/pull-through': pull,
    ...extra,
  });
  setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
  return server;
}

describe('dashboard store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('shows what loaded when another source fails, with that source’s error; pull-through comes from the admin API with the token, not /metrics', async () => {
    const server = serve({ body: report });
    const dashboard = useDashboard();
    await dashboard.load();
    expect(dashboard.storageError).toMatchObject({ status: 403 });
    expect(dashboard.jobs).toEqual([]);
    expect(dashboard.pull).toEqual(report);
    expect(server.seen.find((s) => s.path === '/admin/api/stats/pull-through')!.authorization).toBe('Bearer t');
    expect(server.seen.some((s) => s.path === '/metrics')).toBe(false);
    expect(server.seen.find((s) => s.path === '/admin/api/jobs')!.search).toBe('?limit=8&offset=0');
    expect(dashboard.modules).toBeUndefined();
  });

  it('keeps the pull-through error on its own, and treats a server without the report (404) as having none', async () => {
    serve({ status: 503, body: { error: { message: 'database busy' } } });
    const failing = useDashboard();
    await failing.load();
    expect(failing.pull).toBeUndefined();
    expect(failing.pullError).toMatchObject({ status: 503 });
    expect(failing.jobs).toEqual([]);

    setActivePinia(createPinia());
    serve({ status: 404, body: { error: { message: 'no such route' } } });
    const older = useDashboard();
    await older.load();
    expect(older.pull).toBeUndefined();
    expect(older.pullError).toBeUndefined();
  });

  it('counts modules where the server has the module API, with the session token', async () => {
    const server = serve({ body: report }, { 'GET /admin/api/modules': { body: { items: [{ id: 1 }], total: 17, limit: 1, offset: 0 } } });
    const dashboard = useDashboard();
    await dashboard.load();
    expect(dashboard.modules).toBe(17);
    expect(server.seen.find((s) => s.path === '/admin/api/modules')).toMatchObject({ authorization: 'Bearer t', search: '?limit=1&offset=0' });
  });
});

describe('dashboard view', () => {
  async function mountWith(pull: Answer) {
    const pinia = createPinia();
    setActivePinia(pinia);
    serve(pull);
    const router = buildRouter(createMemoryHistory());
    const view = mount(Dashboard, { global: { plugins: [pinia, router] } });
    await flushPromises();
    return view;
  }

  it('shows the hit ratio, how misses were answered, and which upstream backs off until when', async () => {
    const view = await mountWith({ body: report });
    const text = view.text();
    expect(text).toContain('25.0 %');
    expect(text).toContain('held 1 · pulled 2 · failed 1');
    const upstreams = view.findAll('[aria-label=Upstreams] li').map((li) => li.text());
    expect(upstreams[0]).toContain('registry.opentofu.org');
    expect(upstreams[0]).not.toContain('until');
    expect(upstreams[1]).toContain('registry.terraform.io');
    expect(upstreams[1]).toContain(`until ${new Date(retryAt).toLocaleString()}`);
    expect(upstreams[1]).toContain('2 failures');
  });

  it('says pull-through is off instead of showing zeros', async () => {
    const view = await mountWith({ body: { ...report, enabled: false, hitRatio: null, providers: zeros, modules: zeros, total: zeros } });
    expect(view.text()).toContain('Pull-through is off');
    expect(view.find('[aria-label=Upstreams]').exists()).toBe(false);
  });
});
