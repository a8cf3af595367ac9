import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import { createMemoryHistory } from 'vue-router';
import { setApi } from '../../../../server/src/ui/src/api';
import { buildRouter } from '../../../../server/src/ui/src/router';
import { useSession } from '../../../../server/src/ui/src/stores/session';
import Providers from '../../../../server/src/ui/src/views/Providers.vue';
import { apiOver, fakeServer } from '../fake-server';

const page = { items: [], total: 0 };

async function mountAt(url: string) {
  const pinia = createPinia();
  setActivePinia(pinia);
  useSession().start({ token: 't', expiresAt: new Date(Date.now() + 60_000).toISOString() });
  const server = fakeServer({ 'GET /admin/api/providers': { body: page } });
  setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
  const router = buildRouter(createMemoryHistory());
  await router.push(url);
  expect(router.currentRoute.value.path).toBe('/providers');
  const view = mount(Providers, { global: { plugins: [pinia, router] } });
  await flushPromises();
  return { view, router, server };
}

describe('providers view', () => {
  it('filters by origin from the address, and a chosen origin goes into the address and the query', async () => {
    const { view, router, server } = await mountAt('/providers?origin=pulled&status=active');
    expect(new URLSearchParams(server.seen.at(-1)!.search).get('origin')).toBe('pulled');
    const select = view.findAll('select').find((s) => s.text().includes('pulled through'))!;
    expect((select.element as HTMLSelectElement).value).toBe('pulled');

    await select.setValue('set');
    await view.find('form').trigger('submit');
    await flushPromises();
    const sent = new URLSearchParams(server.seen.at(-1)!.search);
    expect(sent.get('origin')).toBe('set');
    expect(sent.get('status')).toBe('active');
    expect(router.currentRoute.value.query).toMatchObject({ origin: 'set', status: 'active' });
  });

  it('ignores an origin the API would refuse, and Clear drops the origin', async () => {
    const { view, router, server } = await mountAt('/providers?origin=bogus');
    expect(new URLSearchParams(server.seen.at(-1)!.search).has('origin')).toBe(false);
    const origin = view.findAll('select').find((s) => s.text().includes('pulled through'))!;
    await origin.setValue('imported');
    await view.find('form').trigger('submit');
    await flushPromises();
    expect(new URLSearchParams(server.seen.at(-1)!.search).get('origin')).toBe('imported');
    await view.findAll('button').find((b) => b.text() === 'Clear')!.trigger('click');
    await flushPromises();
    expect(new URLSearchParams(server.seen.at(-1)!.search).has('origin')).toBe(false);
    expect(router.currentRoute.value.query.origin).toBeUndefined();
  });
});
