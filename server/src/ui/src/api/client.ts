import createClient, { type Client } from 'openapi-fetch';
import { ApiError, apiErrorFrom } from './errors';
import type { paths } from './schema';
import type {
  JobDetail,
  JobPage,
  JobQuery,
  LoadAccepted,
  LoadPlan,
  LoginResult,
  Me,
  ProviderDetail,
  ProviderPage,
  ProviderQuery,
  ProviderStatus,
  PullThroughReport,
  RetryResult,
  StorageReport,
} from './types';

/** What the client needs from the session, given at start-up (the session store also calls the client). */
export interface ApiHooks {
  /** The bearer token to send, if signed in. */
  token(): string | undefined;
  /** The server refused the token that was sent: the session is over. */
  unauthorized(error: ApiError): void;
}

export interface ApiOptions {
  /** Origin of the admin API; default: the page's own. */
  baseUrl?: string;
  fetch?: (request: Request) => Promise<Response>;
}

/** Definition formats the load route takes, by the Content-Type it expects. */
export type DefinitionType = 'text/plain' | 'application/yaml' | 'application/json';

interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The typed admin API client: every call is checked against the generated
 * OpenAPI types, sends the session's bearer token, and turns a failed answer
 * into an ApiError (a 401 to a sent token also ends the session).
 */
export function createApi(hooks: ApiHooks, opts: ApiOptions = {}) {
  const baseUrl = opts.baseUrl ?? (typeof window === 'undefined' ? '' : window.location.origin);
  const fetchImpl = opts.fetch ?? ((request: Request) => globalThis.fetch(request));
  const sentToken = new WeakSet<Request>();
  // A 401 ends the session only when a token was sent: a failed sign-in is a 401 too.
  const refusedToken = new WeakSet<Response>();
  const raw: Client<paths> = createClient<paths>({ baseUrl, fetch: fetchImpl });
  raw.use({
    onRequest({ request }) {
      const token = hooks.token();
      if (token) {
        request.headers.set('Authorization', `Bearer ${token}`);
        sentToken.add(request);
      }
      return request;
    },
    onResponse({ request, response }) {
      if (response.status === 401 && sentToken.has(request)) refusedToken.add(response);
      return undefined;
    },
  });

  async function call<T>(pending: Promise<Outcome<T>>): Promise<T> {
    let outcome: Outcome<T>;
    try {
      outcome = await pending;
    } catch (err) {
      throw new ApiError({ status: 0, message: `the server could not be reached (${(err as Error).message})` });
    }
    const { data, error, response } = outcome;
    if (response.ok) return data as T;
    const failure = apiErrorFrom(response, error);
    if (refusedToken.has(response)) hooks.unauthorized(failure);
    throw failure;
  }

  return {
    /** The underlying openapi-fetch client, for routes without a helper here. */
    raw,
    call,
    login: (username: string, password: string): Promise<LoginResult> =>
      call(raw.POST('/admin/api/auth/login', { body: { username, password } })),
    logout: (): Promise<void> => call(raw.POST('/admin/api/auth/logout')).then(() => undefined),
    me: (): Promise<Me> => call(raw.GET('/admin/api/auth/me')),
    providers: (query: ProviderQuery = {}): Promise<ProviderPage> => call(raw.GET('/admin/api/providers', { params: { query } })),
    provider: (id: number): Promise<ProviderDetail> => call(raw.GET('/admin/api/providers/{id}', { params: { path: { id } } })),
    setProviderStatus: (id: number, status: ProviderStatus): Promise<unknown> =>
      call(raw.PATCH('/admin/api/providers/{id}', { params: { path: { id } }, body: { status } })),
    deleteProvider: (id: number): Promise<unknown> => call(raw.DELETE('/admin/api/providers/{id}', { params: { path: { id } } })),
    jobs: (query: JobQuery = {}): Promise<JobPage> => call(raw.GET('/admin/api/jobs', { params: { query } })),
    job: (id: number): Promise<JobDetail> => call(raw.GET('/admin/api/jobs/{id}', { params: { path: { id } } })),
    retryJob: (id: number): Promise<RetryResult> => call(raw.POST('/admin/api/jobs/{id}/retry', { params: { path: { id } } })),
    load: (text: string, type: DefinitionType, platforms: string[] = []): Promise<LoadAccepted> =>
      call(
        raw.POST('/admin/api/providers/load', {
          params: { query: platforms.length > 0 ? { platform: platforms } : {} },
          body: text,
          // The definitions go as they were typed, under their own media type, so parse errors point into them.
          bodySerializer: (b: unknown) => b as string,
          headers: { 'Content-Type': type },
        }),
      ),
    /** The dry run of load: what it would queue, nothing stored. */
    planLoad: (text: string, type: DefinitionType, platforms: string[] = []): Promise<LoadPlan> =>
      call(
        raw.POST('/admin/api/providers/load/plan', {
          params: { query: platforms.length > 0 ? { platform: platforms } : {} },
          body: text,
          bodySerializer: (b: unknown) => b as string,
          headers: { 'Content-Type': type },
        }),
      ),
    storage: (): Promise<StorageReport> => call(raw.GET('/admin/api/stats/storage')),
    /**
     * How many modules the mirror holds, or undefined where the server has no module API (404). Kept off the
     * generated types on purpose: it must work against servers from before the module mirror too.
     */
    modulesTotal: async (): Promise<number | undefined> => {
      const token = hooks.token();
      const response = await fetchImpl(
        new Request(`${baseUrl}/admin/api/modules?limit=1&offset=0`, { headers: token ? { Authorization: `Bearer ${token}` } : {} }),
      ).catch((err: unknown) => {
        throw new ApiError({ status: 0, message: `the server could not be reached (${(err as Error).message})` });
      });
      if (response.status === 404) return undefined;
      const body: unknown = await response.json().catch(() => undefined);
      if (!response.ok) throw apiErrorFrom(response, body);
      const total = (body as { total?: unknown } | undefined)?.total;
      return typeof total === 'number' ? total : undefined;
    },
    /** Pull-through's running totals and each upstream's health since the server started. */
    pullThrough: (): Promise<PullThroughReport> => call(raw.GET('/admin/api/stats/pull-through')),
  };
}

export type Api = ReturnType<typeof createApi>;
