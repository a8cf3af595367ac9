import { z } from 'zod';
import { redactConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { route, type RouteSpec } from './framework/route.js';
import { ADMINS } from './principal.js';

export interface ConfigRoutesDeps {
  config: Config;
}

/**
 * The effective configuration, for "why does the server do that?". Admins
 * only, and still redacted: secrets must not reach browsers or audit screenshots.
 */
export function configRoutes(deps: ConfigRoutesDeps): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/config',
      summary: 'The effective configuration with secrets redacted',
      tag: 'config',
      access: ADMINS,
      responses: { 200: { description: 'the configuration', schema: z.record(z.string(), z.unknown()) } },
      handler: async () => ({ body: redactConfig(deps.config) }),
    }),
  ];
}
