import type { RouteRecordRaw } from 'vue-router';

/** Routes of the views that live beside the core ones (sets, storage, audit, users, configuration, modules). */
export const moreRoutes: RouteRecordRaw[] = [];
