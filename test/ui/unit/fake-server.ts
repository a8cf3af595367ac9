import { createApi, type ApiHooks } from '../../../server/src/ui/src/api/client';

export interface Seen {
  method: string;
  path: string;
  search: string;
  authorization: string | null;
  contentType: string | null;
  body: string;
}

export type Answer = { status?: number; body?: unknown; text?: string; headers?: Record<string, string> };

/** An admin API stand-in at the fetch boundary: answers by "METHOD /path" and records what was sent. */
export function fakeServer(routes: Record<string, Answer | ((seen: Seen) => Answer)>) {
  const seen: Seen[] = [];
  async function fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const s: Seen = {
      method: request.method,
      path: url.pathname,
      search: url.search,
      authorization: request.headers.get('Authorization'),
      contentType: request.headers.get('Content-Type'),
      body: await request.text(),
    };
    seen.push(s);
    const route = routes[`${s.method} ${s.path}`];
    if (!route) return new Response(JSON.stringify({ error: { message: `no route ${s.method} ${s.path}` } }), { status: 404, headers: { 'Content-Type': 'application/json' } });
    const a = typeof route === 'function' ? route(s) : route;
    const status = a.status ?? 200;
    if (a.text !== undefined) return new Response(a.text, { status, headers: a.headers });
    if (a.body === undefined) return new Response(null, { status, headers: a.headers });
    return new Response(JSON.stringify(a.body), { status, headers: { 'Content-Type': 'application/json', ...a.headers } });
  }
  return { seen, fetch };
}

export function apiOver(server: ReturnType<typeof fakeServer>, hooks: ApiHooks) {
  return createApi(hooks, { baseUrl: 'http://mirror.test', fetch: server.fetch });
}
