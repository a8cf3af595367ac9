import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory } from 'vue-router';
import { setApi } from '../../../../server/src/ui/src/api';
import { buildRouter } from '../../../../server/src/ui/src/router';
import { useSession } from '../../../../server/src/ui/src/stores/session';
import Login from '../../../../server/src/ui/src/views/Login.vue';
import { apiOver, fakeServer, type Answer } from '../fake-server';

async function mountLogin(loginAnswer: Answer) {
  const pinia = createPinia();
  setActivePinia(pinia);
  const server = fakeServer({
    'POST /admin/api/auth/login': loginAnswer,
    'GET /admin/api/auth/me': { body: { kind: 'user', actor: 'user:ada', role: 'admin' } },
    'GET /admin/api/stats/storage': { status: 500, body: { error: { message: 'not under test' } } },
  });
  const session = useSession();
  setApi(apiOver(server, { token: () => session.token, unauthorized: () => session.end('expired') }));
  const router = buildRouter(createMemoryHistory());
  await router.push('/login?redirect=/jobs/4');
  const view = mount(Login, { global: { plugins: [pinia, router] } });
  await view.find('input[name=username]').setValue('ada');
  await view.find('input[name=password]').setValue('pw');
  return { view, router, session };
}

describe('login view', () => {
  beforeEach(() => sessionStorage.clear());
  afterEach(() => vi.useRealTimers());

  it('when throttled says how long to wait, counts down, and keeps the button disabled meanwhile', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { view } = await mountLogin({ status: 429, body: { error: { message: 'too many failed sign-ins; retry in 30 s' } }, headers: { 'Retry-After': '30' } });
    await view.find('form').trigger('submit');
    await flushPromises();
    expect(view.find('[role=alert]').text()).toContain('too many failed sign-ins');
    expect(view.find('[role=alert]').text()).toContain('try again in 30 s');
    expect(view.find('button[type=submit]').attributes('disabled')).toBeDefined();
    await vi.advanceTimersByTimeAsync(31_000);
    expect(view.find('button[type=submit]').attributes('disabled')).toBeUndefined();
  });

  it('says so on wrong credentials, and goes back where it was sent from on success', async () => {
    const wrong = await mountLogin({ status: 401, body: { error: { message: 'invalid username or password' } } });
    await wrong.view.find('form').trigger('submit');
    await flushPromises();
    expect(wrong.view.find('[role=alert]').text()).toContain('Wrong username or password');
    const right = await mountLogin({ body: { token: 'tok', expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await right.view.find('form').trigger('submit');
    await flushPromises();
    await vi.waitFor(() => expect(right.router.currentRoute.value.fullPath).toBe('/jobs/4'));
    expect(right.session.isAdmin).toBe(true);
  });
});
