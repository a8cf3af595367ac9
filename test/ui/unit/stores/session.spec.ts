import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import { createMemoryHistory } from 'vue-router';
import { setApi } from '../../../../server/src/ui/src/api';
import { buildRouter, followSession, safeRedirect } from '../../../../server/src/ui/src/router';
import { useSession } from '../../../../server/src/ui/src/stores/session';
import { apiOver, fakeServer } from '../fake-server';

const ME = { kind: 'user', actor: 'user:ada', role: 'viewer', user: { id: 1, username: 'ada', role: 'viewer', lastLoginAt: null } };

function setup(routes: Parameters<typeof fakeServer>[0] = {}) {
  const server = fakeServer({
    'POST /admin/api/auth/login': { body: { token: 'tok-1', expiresAt: new Date(Date.now() + 60_000).toISOString() } },
    'GET /admin/api/auth/me': { body: ME },
    'POST /admin/api/auth/logout': { status: 204 },
    ...routes,
  });
  const session = useSession();
  setApi(apiOver(server, { token: () => session.token, unauthorized: () => session.end('expired') }));
  return { server, session };
}

describe('session store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    sessionStorage.clear();
    localStorage.clear();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('signs in, learns the role, and keeps the token in sessionStorage only', async () => {
    const { session } = setup();
    await session.login('ada', 'secret');
    expect(session.signedIn).toBe(true);
    expect(session.role).toBe('viewer');
    expect(session.isAdmin).toBe(false);
    expect(JSON.parse(sessionStorage.getItem('tfmirror.session')!)).toMatchObject({ token: 'tok-1' });
    expect(Object.keys(localStorage)).toEqual([]);
  });

  it('picks the session up after a reload, but not once it has expired', () => {
    const { session } = setup();
    sessionStorage.setItem('tfmirror.session', JSON.stringify({ token: 'kept', expiresAt: new Date(Date.now() + 60_000).toISOString() }));
    expect(session.restore()).toBe(true);
    expect(session.token).toBe('kept');
    session.end('signed-out');
    sessionStorage.setItem('tfmirror.session', JSON.stringify({ token: 'stale', expiresAt: new Date(Date.now() - 1000).toISOString() }));
    expect(session.restore()).toBe(false);
    expect(session.signedIn).toBe(false);
    expect(sessionStorage.getItem('tfmirror.session')).toBeNull();
  });

  it('ends by itself when the token expires', async () => {
    vi.useFakeTimers();
    const { session } = setup({
      'POST /admin/api/auth/login': { body: { token: 'short', expiresAt: new Date(Date.now() + 5_000).toISOString() } },
    });
    await session.login('ada', 'secret');
    vi.advanceTimersByTime(4_900);
    expect(session.signedIn).toBe(true);
    vi.advanceTimersByTime(200);
    expect(session.signedIn).toBe(false);
    expect(session.ended).toBe('expired');
    expect(sessionStorage.getItem('tfmirror.session')).toBeNull();
  });

  it('a 401 to the token ends the session and the page goes to login with the way back', async () => {
    const { session } = setup({ 'GET /admin/api/providers': { status: 401, body: { error: { message: 'session revoked' } } } });
    await session.login('ada', 'secret');
    const router = buildRouter(createMemoryHistory());
    followSession(router);
    await router.push('/providers?q=aws');
    expect(router.currentRoute.value.name).toBe('providers');
    const { api } = await import('../../../../server/src/ui/src/api');
    await expect(api().providers()).rejects.toMatchObject({ status: 401 });
    expect(session.signedIn).toBe(false);
    await nextTick();
    await vi.waitFor(() => expect(router.currentRoute.value.name).toBe('login'));
    expect(router.currentRoute.value.query.redirect).toBe('/providers?q=aws');
  });

  it('signing out revokes the session on the server and forgets it even when the server refuses', async () => {
    const { server, session } = setup({ 'POST /admin/api/auth/logout': { status: 400, body: { error: { message: 'an API token has no session' } } } });
    await session.login('ada', 'secret');
    await session.logout();
    expect(server.seen.at(-1)).toMatchObject({ method: 'POST', path: '/admin/api/auth/logout', authorization: 'Bearer tok-1' });
    expect(session.signedIn).toBe(false);
    expect(session.ended).toBe('signed-out');
  });

  it('pages need a session: a signed-out visit goes to login, remembering the page', async () => {
    setup();
    const router = buildRouter(createMemoryHistory());
    await router.push('/jobs/12');
    expect(router.currentRoute.value.name).toBe('login');
    expect(router.currentRoute.value.query.redirect).toBe('/jobs/12');
  });

  it('a page for other roles sends to the dashboard, and login while signed in too', async () => {
    const { session } = setup();
    await session.login('ada', 'secret');
    const router = buildRouter(createMemoryHistory());
    await router.push('/load');
    expect(router.currentRoute.value.name).toBe('dashboard');
    await router.push('/jobs');
    expect(router.currentRoute.value.name).toBe('jobs');
    await router.push('/login');
    expect(router.currentRoute.value.name).toBe('dashboard');
  });

  it('follows only same-app paths after login', () => {
    expect(safeRedirect('/jobs/3')).toBe('/jobs/3');
    expect(safeRedirect('//evil.example/x')).toBe('/');
    expect(safeRedirect('https://evil.example/')).toBe('/');
    expect(safeRedirect(undefined)).toBe('/');
  });
});
