/**
 * Provider Registry Protocol client for one upstream hostname: service
 * discovery, the versions list, download metadata, and the release files.
 * `RegistryClients` maps hostnames to clients from the `upstream` config.
 */

import type { UpstreamConfig } from '../config/types.js';
import { InvalidInput, NotFound } from '../errors.js';
import { isValidHostname, isValidNamespace, isValidType } from '../providers/address.js';
import { formatPlatform, platformOf } from '../providers/platform.js';
import { isValidVersion } from '../providers/version.js';
import { abortError } from '../storage/streaming.js';
import { type DownloadInfo, type VersionList, parseDiscovery, parseDownloadInfo, parseVersionList } from './documents.js';
import { InvalidUpstreamResponse } from './errors.js';
import { HttpClient, type HttpClientOptions, type HttpStats, type StreamedResponse } from './http.js';

/** Response size bounds, per document kind (the largest real ones are far below). */
export const UPSTREAM_LIMITS = {
  discovery: 1024 * 1024,
  versions: 4 * 1024 * 1024,
  downloadInfo: 64 * 1024,
  shasums: 1024 * 1024,
  signature: 64 * 1024,
} as const;

const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const DISCOVERY_REDIRECTS = 3;

/** What the write path needs from an upstream registry (the port; this client and test fakes implement it). */
export interface ProviderRegistry {
  readonly hostname: string;
  listVersions(namespace: string, type: string, signal?: AbortSignal): Promise<VersionList>;
  downloadInfo(namespace: string, type: string, version: string, os: string, arch: string, signal?: AbortSignal): Promise<DownloadInfo>;
  /** A release file read whole (SHA256SUMS, .sig), as the exact bytes served. */
  fetchBytes(url: string, limit: number, signal?: AbortSignal): Promise<Buffer>;
  /** An archive as a stream; the caller hashes it while storing. */
  download(url: string, signal?: AbortSignal): Promise<StreamedResponse>;
}

export interface RegistryClientOptions extends HttpClientOptions {
  hostname: string;
  /** Where discovery is done, e.g. "https://registry.terraform.io/" (a trailing slash is added if missing). */
  url: string;
  discoveryTtlMs?: number;
  /** Largest archive accepted, bytes (default 2 GiB). */
  downloadMaxBytes?: number;
}

export class RegistryClient implements ProviderRegistry {
  readonly hostname: string;
  readonly discoveryUrl: string;
  private readonly http: HttpClient;
  private readonly now: () => number;
  private discovered: { base: string; at: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly options: RegistryClientOptions) {
    this.hostname = options.hostname;
    this.discoveryUrl = new URL('.well-known/terraform.json', withSlash(options.url)).href;
    this.http = new HttpClient(options);
    this.now = options.now ?? Date.now;
  }

  /**
   * The providers.v1 base URL. Cached for an hour; concurrent callers share
   * one request, and a failure is not cached (the next call asks again).
   */
  async providersBaseUrl(signal?: AbortSignal): Promise<string> {
    const ttl = this.options.discoveryTtlMs ?? DISCOVERY_TTL_MS;
    if (this.discovered && this.now() - this.discovered.at < ttl) return this.discovered.base;
    // The shared request carries no caller's signal: one caller giving up must not fail the others.
    this.pending ??= this.discover().finally(() => {
      this.pending = undefined;
    });
    return untilAborted(this.pending, signal);
  }

  async listVersions(namespace: string, type: string, signal?: AbortSignal): Promise<VersionList> {
    assertProvider(namespace, type);
    const url = `${await this.providersBaseUrl(signal)}${namespace}/${type}/versions`;
    const res = await this.json(url, UPSTREAM_LIMITS.versions, signal, () => `provider ${this.hostname}/${namespace}/${type} not found upstream`);
    return parseVersionList(res.value, res.url);
  }

  async downloadInfo(namespace: string, type: string, version: string, os: string, arch: string, signal?: AbortSignal): Promise<DownloadInfo> {
    assertProvider(namespace, type);
    if (!isValidVersion(version)) throw new InvalidInput(`invalid version ${JSON.stringify(version)}`, { key: 'version' });
    const platform = platformOf(os, arch);
    const url = `${await this.providersBaseUrl(signal)}${namespace}/${type}/${version}/download/${os}/${arch}`;
    const res = await this.json(
      url,
      UPSTREAM_LIMITS.downloadInfo,
      signal,
      () => `platform ${formatPlatform(platform)} not supported by ${this.hostname}/${namespace}/${type} ${version} upstream`,
    );
    return parseDownloadInfo(res.value, res.url, platform);
  }

  async fetchBytes(url: string, limit: number, signal?: AbortSignal): Promise<Buffer> {
    const res = await notFoundAs(this.http.getBuffer(url, { limit, signal }), () => `${url} not found upstream`);
    return res.body;
  }

  async fetchText(url: string, limit: number, signal?: AbortSignal): Promise<string> {
    return (await this.fetchBytes(url, limit, signal)).toString('utf8');
  }

  download(url: string, signal?: AbortSignal): Promise<StreamedResponse> {
    return notFoundAs(this.http.getStream(url, { signal, maxBytes: this.options.downloadMaxBytes }), () => `${url} not found upstream`);
  }

  stats(): HttpStats {
    return this.http.stats();
  }

  close(): void {
    this.http.close();
  }

  private async discover(): Promise<string> {
    const res = await notFoundAs(
      this.http.getJson(this.discoveryUrl, { limit: UPSTREAM_LIMITS.discovery, maxRedirects: DISCOVERY_REDIRECTS }),
      () => `${this.hostname} offers no services: ${this.discoveryUrl} was not found`,
    );
    // Terraform refuses a discovery document not served as JSON; so do we, to fail the same way.
    if (!/^application\/json\b/i.test(res.contentType)) {
      throw new InvalidUpstreamResponse(res.url, `discovery document has Content-Type ${JSON.stringify(res.contentType)}, expected application/json`);
    }
    const base = parseDiscovery(res.value, res.url);
    if (base === undefined) throw new NotFound(`${this.hostname} does not offer the provider registry protocol (no "providers.v1" in ${res.url})`);
    this.discovered = { base, at: this.now() };
    return base;
  }

  private json(url: string, limit: number, signal: AbortSignal | undefined, notFound: () => string) {
    return notFoundAs(this.http.getJson(url, { limit, signal }), notFound);
  }
}

export interface RegistryClientsOptions extends Omit<RegistryClientOptions, 'hostname' | 'url'> {}

/** One client per upstream hostname, created on first use. */
export class RegistryClients {
  private readonly clients = new Map<string, RegistryClient>();

  constructor(
    private readonly upstreams: Record<string, UpstreamConfig>,
    private readonly options: RegistryClientsOptions = {},
  ) {}

  /** The client for `hostname`: its configured url, else https://<hostname>/ as Terraform would use. */
  get(hostname: string): RegistryClient {
    if (!isValidHostname(hostname)) throw new InvalidInput(`invalid registry hostname ${JSON.stringify(hostname)}`, { key: 'hostname' });
    const key = hostname.toLowerCase();
    let client = this.clients.get(key);
    if (client === undefined) {
      const url = this.upstreams[key]?.url ?? `https://${key}/`;
      client = new RegistryClient({ ...this.options, hostname: key, url });
      this.clients.set(key, client);
    }
    return client;
  }

  /** Counters per hostname, for metrics. */
  stats(): Record<string, HttpStats> {
    return Object.fromEntries([...this.clients].map(([host, c]) => [host, c.stats()]));
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

function assertProvider(namespace: string, type: string): void {
  if (!isValidNamespace(namespace)) throw new InvalidInput(`invalid provider namespace ${JSON.stringify(namespace)}`, { key: 'namespace' });
  if (!isValidType(type)) throw new InvalidInput(`invalid provider type ${JSON.stringify(type)}`, { key: 'type' });
}

/** Replaces the HTTP layer's generic NotFound with one that says what is missing. */
async function notFoundAs<T>(p: Promise<T>, message: () => string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof NotFound) throw new NotFound(message(), { cause: err });
    throw err;
  }
}

function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
