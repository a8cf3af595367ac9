import type { RouteRecordRaw } from 'vue-router';

const ADMIN_ONLY = ['admin'] as const;

/** Routes of the views that live beside the core ones (sets, storage, audit, users, configuration, modules). */
export const moreRoutes: RouteRecordRaw[] = [
  // Every role may read the sets (the operator role is who writes them).
  { path: '/sets', name: 'sets', component: () => import('../views/ProviderSets.vue'), meta: { nav: 'Sets' } },
  {
    path: '/sets/:kind/:namespace/:name',
    name: 'set',
    component: () => import('../views/ProviderSetDetail.vue'),
    props: (r) => ({ kind: r.params.kind, namespace: r.params.namespace, name: r.params.name }),
  },
  // The storage report is for people (admins and viewers); the operator role has no use for it and the server refuses it.
  { path: '/storage', name: 'storage', component: () => import('../views/Storage.vue'), meta: { nav: 'Storage', roles: ['admin', 'viewer'] } },
  { path: '/audit', name: 'audit', component: () => import('../views/Audit.vue'), meta: { nav: 'Audit', roles: ADMIN_ONLY } },
  { path: '/users', name: 'users', component: () => import('../views/Users.vue'), meta: { nav: 'Users', roles: ADMIN_ONLY } },
  { path: '/tokens', name: 'tokens', component: () => import('../views/Tokens.vue'), meta: { nav: 'Tokens', roles: ADMIN_ONLY } },
  { path: '/config', name: 'config', component: () => import('../views/Config.vue'), meta: { nav: 'Config', roles: ADMIN_ONLY } },
  // Like the storage report, module listings are for admins and viewers (the server's READERS).
  { path: '/modules', name: 'modules', component: () => import('../views/Modules.vue'), meta: { nav: 'Modules', roles: ['admin', 'viewer'] } },
  { path: '/modules/:id(\\d+)', name: 'module', component: () => import('../views/Modules.vue'), props: (r) => ({ id: Number(r.params.id) }) },
];
