import { watch } from 'vue';
import { createRouter, createWebHistory, type RouteRecordRaw, type Router, type RouterHistory } from 'vue-router';
import { useSession } from '../stores/session';
import { moreRoutes } from './more-routes';

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without signing in (the login page). */
    public?: boolean;
    /** Shown in the navigation under this label. */
    nav?: string;
    /** Only these roles see the page (the server refuses the others anyway). */
    roles?: ReadonlyArray<'admin' | 'operator' | 'viewer'>;
  }
}

export const coreRoutes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('../views/Login.vue'), meta: { public: true } },
  { path: '/', name: 'dashboard', component: () => import('../views/Dashboard.vue'), meta: { nav: 'Dashboard' } },
  { path: '/providers', name: 'providers', component: () => import('../views/Providers.vue'), meta: { nav: 'Providers' } },
  { path: '/providers/:id(\\d+)', name: 'provider', component: () => import('../views/ProviderDetail.vue'), props: (r) => ({ id: Number(r.params.id) }) },
  { path: '/load', name: 'load', component: () => import('../views/Load.vue'), meta: { nav: 'Load', roles: ['admin', 'operator'] } },
  { path: '/jobs', name: 'jobs', component: () => import('../views/Jobs.vue'), meta: { nav: 'Jobs' } },
  { path: '/jobs/:id(\\d+)', name: 'job', component: () => import('../views/JobDetail.vue'), props: (r) => ({ id: Number(r.params.id) }) },
];

export function buildRouter(history: RouterHistory = createWebHistory('/ui/')): Router {
  const router = createRouter({
    history,
    routes: [
      ...coreRoutes,
      ...moreRoutes,
      { path: '/:rest(.*)*', name: 'not-found', component: () => import('../views/NotFound.vue') },
    ],
  });
  router.beforeEach(async (to) => {
    const session = useSession();
    if (to.name === 'login' && session.signedIn) return { path: '/' };
    if (to.meta.public) return true;
    if (!session.signedIn) return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } };
    // After a full page load the role is not known yet: wait for it before deciding, or a page typed in by
    // address would be offered to a role it is not for. A failed lookup (a refused token) ends the session.
    if (to.meta.roles && !session.me) await session.loadMe().catch(() => undefined);
    if (!session.signedIn) return { name: 'login', query: { redirect: to.fullPath } };
    // A page for other roles is not offered (the server would refuse its calls anyway).
    if (to.meta.roles && (!session.role || !to.meta.roles.includes(session.role))) return { path: '/' };
    return true;
  });
  return router;
}

/** When the session ends (sign-out, expiry, a refused token) the page goes to login, remembering where it was. */
export function followSession(router: Router): void {
  const session = useSession();
  watch(
    () => session.signedIn,
    (signedIn) => {
      const here = router.currentRoute.value;
      if (signedIn || here.meta.public) return;
      const redirect = session.ended === 'signed-out' || here.fullPath === '/' ? {} : { redirect: here.fullPath };
      void router.replace({ name: 'login', query: redirect });
    },
  );
}

/** Only same-app paths are followed after login: a crafted ?redirect= must not leave the UI. */
export function safeRedirect(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/';
}
