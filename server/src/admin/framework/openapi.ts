import { z } from 'zod';
import { ADMIN_PREFIX } from './router.js';
import type { RouteSpec } from './route.js';

const errorSchema = z.object({ error: z.object({ message: z.string() }).passthrough() });

/**
 * The OpenAPI 3.1 document, generated from the same route declarations that
 * build the router, so the two cannot drift (a test walks it against the app).
 */
export function openApiDocument(routes: readonly RouteSpec[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = ADMIN_PREFIX + r.path.replace(/:(\w+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][r.method] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'terraform-mirror admin API', version: info.version },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A session JWT from /auth/login or an API token' } },
      schemas: { Error: z.toJSONSchema(errorSchema) },
    },
    paths,
  };
}

function operation(r: RouteSpec): Record<string, unknown> {
  const op: Record<string, unknown> = {
    operationId: `${r.method}${r.path.replace(/[/:](\w)/g, (_m, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '')}`,
    summary: r.summary,
    tags: [r.tag],
    'x-roles': r.access === 'public' ? [] : [...r.access],
    parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
    responses: responses(r),
  };
  if (r.access !== 'public') op.security = [{ bearer: [] }];
  const content: Record<string, unknown> = {};
  if (r.body) content['application/json'] = { schema: z.toJSONSchema(r.body, { io: 'input' }) };
  if (r.rawBody) for (const t of ['application/json', ...r.rawBody.contentTypes]) content[t] = { schema: { type: 'string' } };
  if (Object.keys(content).length > 0) op.requestBody = { required: true, content };
  return op;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }));
}

function responses(r: RouteSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(r.responses)) {
    out[status] = spec.schema ? { description: spec.description, content: { 'application/json': { schema: z.toJSONSchema(spec.schema, { io: 'output' }) } } } : { description: spec.description };
  }
  const error = { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  out['400'] ??= { ...error, description: 'invalid input' };
  if (r.access !== 'public') {
    out['401'] ??= { ...error, description: 'no valid credentials' };
    out['403'] ??= { ...error, description: 'the role may not call this route' };
  }
  return out;
}
