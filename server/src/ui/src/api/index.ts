import { createApi, type Api } from './client';

export { ApiError } from './errors';
export type { Api, DefinitionType } from './client';
export * from './types';

let current: Api | undefined;

/** The client the stores use; set once at start-up (main.ts), or by a test with its own fetch. */
export function setApi(api: Api): void {
  current = api;
}

export function api(): Api {
  if (!current) current = createApi({ token: () => undefined, unauthorized: () => {} });
  return current;
}
