/**
 * Provider Registry Protocol client for one upstream hostname: service
 * discovery, the versions list, download metadata, and the release files.
 * `RegistryClients` maps hostnames to clients from the `upstream` config, and
 * is the one place that refuses a hostname with no upstream.
 */

import type { LookupFunction } from 'node:net';
import type { UpstreamConfig } from '../config/types.js';
import { InvalidInput, NotFound } from '../errors.js';
import { isValidHostname, isValidNamespace, isValidType } from '../providers/address.js';
import { formatPlatform, platformOf } from '../providers/platform.js';
import { isValidVersion } from '../providers/version.js';
import { abortError } from '../storage/streaming.js';
import { type DownloadInfo, type VersionList, parseDiscovery, parseDownloadInfo, parseVersionList } from './documents.js';
import { InvalidUpstreamResponse, UnknownUpstream, describeContentType, describeUrl } from './errors.js';
import { HttpClient, type HttpClientOptions, type HttpStats, type StreamedResponse } from './http.js';
import { type AddressClassifier, isOnPrivateNetwork } from './reach.js';

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

/** Upstreams every mirror knows without configuration; `upstream` blocks add to or override them. */
export const BUILT_IN_UPSTREAMS: Readonly<Record<string, UpstreamConfig>> = {
  'registry.terraform.io': { url: 'https://registry.terraform.io/' },
  'registry.opentofu.org': { url: 'https://registry.opentofu.org/' },
};

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

export interface RegistryClientOptions extends Omit<HttpClientOptions, 'reach'> {
  hostname: string;
  /**
   * Where discovery is done, e.g. "https://registry.terraform.io/" (a trailing
   * slash is added if missing). It also decides where the URLs this upstream
   * hands out may lead: HTTPS only unless it is plain http itself, and
   * loopback, link-local or private addresses only if it is on one itself.
   */
  url: string;
  discoveryTtlMs?: number;
  /** Largest archive accepted, bytes (default 2 GiB). */
  downloadMaxBytes?: number;
  /** The resolver for every connection (default dns.lookup). */
  lookup?: LookupFunction;
  /** Which addresses count as loopback/link-local/private (default reach.forbiddenRange). */
  classifyAddress?: AddressClassifier;
}

export class RegistryClient implements ProviderRegistry {
  readonly hostname: string;
  readonly discoveryUrl: string;
  private readonly http: HttpClient;
  private readonly now: () => number;
  private discovered: { base: string; at: number } | undefined;
  private pending: Promise<string> | undefined;
  private privateNetwork: boolean | undefined;

  constructor(private readonly options: RegistryClientOptions) {
    this.hostname = options.hostname;
    this.discoveryUrl = new URL('.well-known/terraform.json', withSlash(options.url)).href;
    const reachOpts = { lookup: options.lookup, classify: options.classifyAddress };
    this.http = new HttpClient({
      ...options,
      reach: {
        ...reachOpts,
        requireHttps: new URL(options.url).protocol === 'https:',
        // Asked only when a connection would reach a forbidden address; a name that
        // did not resolve is asked again next time rather than remembered as public.
        allowPrivate: async () => (this.privateNetwork ??= await isOnPrivateNetwork(options.url, reachOpts)) ?? false,
      },
    });
    this.now = options.now ?? Date.now;
  }

  /**
   * The providers.v1 base URL. Cached for an hour; concurrent callers share
   * one request, and a failure is not cached (the next call asks again).
   */
  async providersBaseUrl(signal?: AbortSignal): Promise<string> {
    const ttl = this.options.discoveryTtlMs ?? DISCOVERY_TTL_MS;
    if (this.discovered && this.now() - this.discovered.at < ttl) return this.discovered.base;
    // A caller already gone would start a shared request that nobody awaits,
    // and its failure would be an unhandled rejection.
    if (signal?.aborted) throw abortError(signal);
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
    const res = await notFoundAs(this.http.getBuffer(url, { limit, signal }), () => `${describeUrl(url)} not found upstream`);
    return res.body;
  }

  async fetchText(url: string, limit: number, signal?: AbortSignal): Promise<string> {
    return (await this.fetchBytes(url, limit, signal)).toString('utf8');
  }

  download(url: string, signal?: AbortSignal): Promise<StreamedResponse> {
    return notFoundAs(this.http.getStream(url, { signal, maxBytes: this.options.downloadMaxBytes }), () => `${describeUrl(url)} not found upstream`);
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
      () => `${this.hostname} offers no services: ${describeUrl(this.discoveryUrl)} was not found`,
    );
    // Terraform refuses a discovery document not served as JSON; so do we, to fail the same way.
    if (!/^application\/json\b/i.test(res.contentType)) {
      throw new InvalidUpstreamResponse(res.url, `discovery document has ${describeContentType(res.contentType)}, expected application/json`);
    }
    const base = parseDiscovery(res.value, res.url);
    if (base === undefined) throw new NotFound(`${this.hostname} does not offer the provider registry protocol (no "providers.v1" in ${describeUrl(res.url)})`);
    this.discovered = { base, at: this.now() };
    return base;
  }

  private json(url: string, limit: number, signal: AbortSignal | undefined, notFound: () => string) {
    return notFoundAs(this.http.getJson(url, { limit, signal }), notFound);
  }
}

export interface RegistryClientsOptions extends Omit<RegistryClientOptions, 'hostname' | 'url'> {}

/**
 * One client per upstream hostname, created on first use. Only built-in and
 * configured upstreams get one: any other hostname is refused by name before
 * a single request, so a definition cannot make the mirror contact a host of
 * its choosing (and metric labels stay the configured hostnames).
 */
export class RegistryClients {
  private readonly clients = new Map<string, RegistryClient>();
  private readonly upstreams: Record<string, UpstreamConfig>;

  constructor(
    upstreams: Record<string, UpstreamConfig>,
    private readonly options: RegistryClientsOptions = {},
  ) {
    const configured = Object.entries(upstreams).map(([host, u]) => [host.toLowerCase(), u] as const);
    this.upstreams = { ...BUILT_IN_UPSTREAMS, ...Object.fromEntries(configured) };
  }

  /** The client for `hostname` (its configured url); UnknownUpstream when it has no upstream. */
  get(hostname: string): RegistryClient {
    if (!isValidHostname(hostname)) throw new InvalidInput(`invalid registry hostname ${JSON.stringify(hostname.slice(0, 300))}`, { key: 'hostname' });
    const key = hostname.toLowerCase();
    let client = this.clients.get(key);
    if (client === undefined) {
      const upstream = Object.hasOwn(this.upstreams, key) ? this.upstreams[key] : undefined;
      if (upstream === undefined) throw new UnknownUpstream(key);
      client = new RegistryClient({ ...this.options, hostname: key, url: upstream.url });
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
