/**
 * The operator's only way to the server (STYLE rule 1): the admin API's
 * provider-set endpoints over HTTP (a ModuleSet is a set kind there too). Failures are typed values so the
 * reconciler can tell a permanent error (InvalidSpec) from a transient one.
 */

export type MirrorKind = 'ProviderSet' | 'ProviderMirror' | 'ModuleSet';
export type JobStatus = 'pending' | 'running' | 'succeeded' | 'failed';

export interface ServerFailure {
  source: string;
  version: string;
  platform: string;
  message: string;
}

/** What the server reports for one provider set (the contract's status document). */
export interface ServerStatus {
  namespace: string;
  name: string;
  uid: string;
  observedGeneration: number;
  desired: number;
  ready: number;
  failed: number;
  pending: number;
  jobId: number | null;
  jobStatus: JobStatus | null;
  failures: ServerFailure[];
  resolvedVersions: string[];
  problems: string[];
  /** Said about the plan without being a problem (e.g. resolved against held versions while the upstream was unreachable); absent from older servers. */
  notices?: string[];
  lastSyncTime: string | null;
}

export interface PutRequest {
  uid: string;
  generation: number;
  kind: MirrorKind;
  spec: unknown;
  resync?: boolean;
}

/** One record in the server's list of sets: enough to tell whether its custom resource still exists. */
export interface ServerSetRecord {
  kind: MirrorKind;
  namespace: string;
  name: string;
  uid: string;
  generation: number;
}

/** The port the reconciler and `apply` depend on; HttpServerClient and the tests' fake implement it. */
export interface ServerClient {
  put(namespace: string, name: string, body: PutRequest): Promise<ServerStatus>;
  /**
   * Throws NotFound when the server has no record. Pass the kind: without it
   * the server answers for the one set of either kind with that name (409 when both exist).
   */
  get(namespace: string, name: string, kind?: MirrorKind): Promise<ServerStatus>;
  delete(namespace: string, name: string, purge: boolean, kind?: MirrorKind): Promise<void>;
  /** Every set the server holds (the controller's full-resync check for records whose resource is gone). */
  list(): Promise<ServerSetRecord[]>;
}

/** The server refused the spec (400): permanent until the spec changes. */
export class InvalidSpec extends Error {
  override readonly name = 'InvalidSpec';
}

export class NotFound extends Error {
  override readonly name = 'NotFound';
}

/** The server could not be reached, timed out, or answered 5xx: worth retrying. */
export class Unavailable extends Error {
  override readonly name = 'Unavailable';
}

/** Any other answer (401, 403, 409…): retried with backoff, but reported as what it is. */
export class UnexpectedResponse extends Error {
  override readonly name = 'UnexpectedResponse';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpServerClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  token: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class HttpServerClient implements ServerClient {
  private readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(options: HttpServerClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchFn = options.fetch ?? fetch;
  }

  async put(namespace: string, name: string, body: PutRequest): Promise<ServerStatus> {
    const res = await this.request('PUT', this.path(namespace, name, body.kind), body);
    return (await res.json()) as ServerStatus;
  }

  async get(namespace: string, name: string, kind?: MirrorKind): Promise<ServerStatus> {
    const res = await this.request('GET', this.path(namespace, name, kind));
    return (await res.json()) as ServerStatus;
  }

  async delete(namespace: string, name: string, purge: boolean, kind?: MirrorKind): Promise<void> {
    const res = await this.request('DELETE', `${this.path(namespace, name, kind)}?purge=${purge}`);
    await res.body?.cancel();
  }

  async list(): Promise<ServerSetRecord[]> {
    const res = await this.request('GET', '/admin/api/provider-sets');
    return ((await res.json()) as { items: ServerSetRecord[] }).items;
  }

  /** The kind is part of a set's key on the server: a ProviderSet and a ProviderMirror may share a name. */
  private path(namespace: string, name: string, kind?: MirrorKind): string {
    const key = `${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
    return kind ? `/admin/api/provider-sets/${kind}/${key}` : `/admin/api/provider-sets/${key}`;
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const reason = err instanceof Error && err.name === 'TimeoutError' ? `timed out after ${this.timeoutMs} ms` : String(err);
      throw new Unavailable(`${method} ${path}: ${reason}`, { cause: err });
    }
    if (res.ok) return res;
    const message = await errorMessage(res);
    if (res.status === 400) throw new InvalidSpec(message);
    if (res.status === 404) throw new NotFound(message);
    if (res.status >= 500) throw new Unavailable(`${method} ${path}: ${res.status} ${message}`);
    throw new UnexpectedResponse(res.status, `${method} ${path}: ${res.status} ${message}`);
  }
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') return parsed.error.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 500) || res.statusText;
}
