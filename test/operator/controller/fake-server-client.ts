/**
 * An in-memory adapter of the operator's ServerClient port, following the
 * admin API contract: PUT stores the spec and starts a "job", GET reports,
 * DELETE forgets. A spec containing `invalid: true` is refused as the server
 * refuses an invalid spec. Like the server, a generation is planned once: a
 * PUT of the same uid with an older generation, or the same one without
 * resync, leaves the record (and its spec) as it was.
 */

import {
  InvalidSpec,
  NotFound,
  type PutRequest,
  type ServerClient,
  type ServerSetRecord,
  type ServerStatus,
  Unavailable,
} from '../../../operator/src/server-client.js';

export interface FakeServerCall {
  method: 'PUT' | 'GET' | 'DELETE' | 'LIST';
  key: string;
  body?: PutRequest;
  purge?: boolean;
  /** Date.now() when the call was made. */
  at: number;
}

export class FakeServerClient implements ServerClient {
  readonly calls: FakeServerCall[] = [];
  readonly records = new Map<string, ServerStatus>();
  /** The spec each record was last planned from. */
  readonly specs = new Map<string, unknown>();
  /** The kind each record was PUT as (the list reports it). */
  readonly kinds = new Map<string, PutRequest['kind']>();
  /** What a PUT's job does: finish at once, or stay running until finish(). */
  jobOutcome: 'succeeded' | 'running' = 'succeeded';
  /** Fail the next N calls as an unreachable server. */
  unavailable = 0;
  /** How long a PUT takes to answer (a server planning against a slow upstream). */
  putDelayMs = 0;
  private jobs = 0;

  constructor(private readonly now: () => Date = () => new Date()) {}

  async put(namespace: string, name: string, body: PutRequest): Promise<ServerStatus> {
    const key = `${namespace}/${name}`;
    this.calls.push({ method: 'PUT', key, body, at: Date.now() });
    this.maybeFail();
    if (this.putDelayMs > 0) await new Promise((r) => setTimeout(r, this.putDelayMs));
    const spec = body.spec as {
      invalid?: boolean;
      providers?: { versions: string[]; platforms: string[] }[];
      modules?: { versions: string[] }[];
      versions?: string[];
      platforms?: string[];
    };
    if (spec.invalid) throw new InvalidSpec('spec.providers[0].source: not a provider address');
    const stored = this.records.get(key);
    if (stored && stored.uid === body.uid && (stored.observedGeneration > body.generation || (stored.observedGeneration === body.generation && !body.resync))) {
      return structuredClone(stored);
    }
    // A module version is one item; a provider version is one per platform.
    const items = spec.modules?.map((m) => ({ versions: m.versions, platforms: ['any'] })) ??
      spec.providers ?? [{ versions: spec.versions ?? [], platforms: spec.platforms ?? [] }];
    const desired = items.reduce((n, p) => n + p.versions.length * p.platforms.length, 0);
    const done = this.jobOutcome === 'succeeded';
    this.jobs += 1;
    const status: ServerStatus = {
      namespace,
      name,
      uid: body.uid,
      observedGeneration: body.generation,
      desired,
      ready: done ? desired : 0,
      failed: 0,
      pending: done ? 0 : desired,
      jobId: this.jobs,
      jobStatus: done ? 'succeeded' : 'running',
      failures: [],
      resolvedVersions: spec.versions ?? [],
      problems: [],
      lastSyncTime: done ? this.now().toISOString() : (this.records.get(key)?.lastSyncTime ?? null),
    };
    this.records.set(key, status);
    this.specs.set(key, structuredClone(body.spec));
    this.kinds.set(key, body.kind);
    return structuredClone(status);
  }

  async get(namespace: string, name: string): Promise<ServerStatus> {
    const key = `${namespace}/${name}`;
    this.calls.push({ method: 'GET', key, at: Date.now() });
    this.maybeFail();
    const status = this.records.get(key);
    if (!status) throw new NotFound(`provider set ${key} not found`);
    return structuredClone(status);
  }

  async delete(namespace: string, name: string, purge: boolean): Promise<void> {
    const key = `${namespace}/${name}`;
    this.calls.push({ method: 'DELETE', key, purge, at: Date.now() });
    this.maybeFail();
    this.records.delete(key);
    this.specs.delete(key);
    this.kinds.delete(key);
  }

  async list(): Promise<ServerSetRecord[]> {
    this.calls.push({ method: 'LIST', key: '', at: Date.now() });
    this.maybeFail();
    return [...this.records.values()].map((r) => ({
      kind: this.kinds.get(`${r.namespace}/${r.name}`) ?? 'ProviderSet',
      namespace: r.namespace,
      name: r.name,
      uid: r.uid,
      generation: r.observedGeneration,
    }));
  }

  /** Finish a running job: everything mirrored. */
  finish(namespace: string, name: string): void {
    const status = this.records.get(`${namespace}/${name}`);
    if (!status) throw new Error('no such record');
    Object.assign(status, { ready: status.desired, pending: 0, jobStatus: 'succeeded', lastSyncTime: this.now().toISOString() });
  }

  count(method: FakeServerCall['method'], key?: string): number {
    return this.calls.filter((c) => c.method === method && (key === undefined || c.key === key)).length;
  }

  private maybeFail(): void {
    if (this.unavailable > 0) {
      this.unavailable -= 1;
      throw new Unavailable('connect ECONNREFUSED 127.0.0.1:8080');
    }
  }
}
