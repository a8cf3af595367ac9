/**
 * Provider Registry Protocol client for one upstream hostname: service
 * discovery, the versions list, download metadata, and the release files.
 * The same discovery serves its module registry client (module-registry.ts).
 * `RegistryClients` maps hostnames to clients from the `upstream` config, and
 * is the one place that refuses a hostname with no upstream.
 */

import type { UpstreamConfig } from '../config/types.js';
import { InvalidInput, NotFound } from '../errors.js';
import { isValidHostname } from '../providers/address.js';
import { formatPlatform, platformOf } from '../providers/platform.js';
import { isValidVersion } from '../providers/version.js';
import { abortError, untilAborted } from '../storage/streaming.js';
import { type DownloadInfo, type VersionList, parseDownloadInfo, parseService, parseVersionList } from './documents.js';
import { InvalidUpstreamResponse, UnknownUpstream, describeContentType, describeUrl } from './errors.js';
import type { HttpClient, HttpStats, StreamedResponse } from './http.js';
import { ModuleRegistryClient } from './module-registry.js';
import { NetworkMirrorClient } from './network-mirror.js';
import type { ModuleUpstream } from '../modules/ports.js';
import { type UpstreamHttpOptions, assertProvider, downloadArchive, fetchReleaseFile, notFoundAs, upstreamHttpClient } from './upstream-http.js';

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

/** A client of one upstream, as RegistryClients hands them out: the port, plus counters and shutdown. */
export interface UpstreamClient extends ProviderRegistry {
  /** Where service discovery is done; undefined for a network mirror, which needs none. */
  readonly discoveryUrl?: string;
  stats(): HttpStats;
  close(): void;
}

export interface RegistryClientOptions extends UpstreamHttpOptions {
  hostname: string;
  /**
   * Where discovery is done, e.g. "https://registry.terraform.io/" (a trailing
   * slash is added if missing). It also decides where the URLs this upstream
   * hands out may lead: HTTPS only unless it is plain http itself, and
   * loopback, link-local or private addresses only if it is on one itself.
   */
  url: string;
  /**
   * A providers.v1 base to use instead of discovery (another mirror's
   * /hosts/H/v1/providers/). It then decides the reach rules in place of url,
   * which is never contacted.
   */
  providersUrl?: string;
  /**
   * A modules.v1 base to use instead of discovery for modules (another
   * mirror's /hosts/H/v1/modules/); its own reach rules, like providersUrl.
   */
  modulesUrl?: string;
  /** Accept releases listing no signing keys: their DownloadInfo says trust "unsigned" (allow_unsigned). */
  allowUnsigned?: boolean;
  discoveryTtlMs?: number;
  /** Largest archive accepted, bytes (default 2 GiB). */
  downloadMaxBytes?: number;
}

export class RegistryClient implements UpstreamClient {
  readonly hostname: string;
  readonly discoveryUrl: string;
  private readonly http: HttpClient;
  private readonly now: () => number;
  private readonly fixedBase: string | undefined;
  private readonly fixedModulesBase: string | undefined;
  /** For a modules_url: its own reach rules (a mirror next door may be on loopback while url is public). */
  private readonly modulesHttp: HttpClient | undefined;
  private moduleClient: ModuleRegistryClient | undefined;
  private discovered: { doc: unknown; url: string; at: number } | undefined;
  private pending: Promise<{ doc: unknown; url: string }> | undefined;

  constructor(private readonly options: RegistryClientOptions) {
    this.hostname = options.hostname;
    this.discoveryUrl = new URL('.well-known/terraform.json', withSlash(options.url)).href;
    this.fixedBase = options.providersUrl ? withSlash(options.providersUrl) : undefined;
    this.http = upstreamHttpClient(options, this.fixedBase ?? options.url);
    this.fixedModulesBase = options.modulesUrl ? withSlash(options.modulesUrl) : undefined;
    this.modulesHttp = this.fixedModulesBase ? upstreamHttpClient(options, this.fixedModulesBase) : undefined;
    this.now = options.now ?? Date.now;
  }

  /**
   * The providers.v1 base URL: providers_url when configured (no discovery),
   * else discovered. Cached for an hour; concurrent callers share one
   * request, and a failure is not cached (the next call asks again).
   */
  async providersBaseUrl(signal?: AbortSignal): Promise<string> {
    if (this.fixedBase !== undefined) return this.fixedBase;
    const d = await this.discovery(signal);
    const base = parseService(d.doc, d.url, 'providers.v1');
    if (base === undefined) throw new NotFound(`${this.hostname} does not offer the provider registry protocol (no "providers.v1" in ${describeUrl(d.url)})`);
    return base;
  }

  /** The modules.v1 base URL: modules_url when configured, else from the same (cached, shared) discovery. */
  async modulesBaseUrl(signal?: AbortSignal): Promise<string> {
    if (this.fixedModulesBase !== undefined) return this.fixedModulesBase;
    const d = await this.discovery(signal);
    const base = parseService(d.doc, d.url, 'modules.v1');
    if (base === undefined) throw new NotFound(`${this.hostname} does not offer the module registry protocol (no "modules.v1" in ${describeUrl(d.url)})`);
    return base;
  }

  /** This upstream's module registry protocol, over the same discovery and HTTP client (or modules_url's). */
  modules(): ModuleUpstream {
    this.moduleClient ??= new ModuleRegistryClient({
      hostname: this.hostname,
      http: this.modulesHttp ?? this.http,
      baseUrl: (signal) => this.modulesBaseUrl(signal),
    });
    return this.moduleClient;
  }

  /**
   * The discovery document, cached for an hour; concurrent callers share one
   * request, and a failure is not cached (the next call asks again).
   */
  private async discovery(signal?: AbortSignal): Promise<{ doc: unknown; url: string }> {
    const ttl = this.options.discoveryTtlMs ?? DISCOVERY_TTL_MS;
    if (this.discovered && this.now() - this.discovered.at < ttl) return this.discovered;
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
    return parseDownloadInfo(res.value, res.url, platform, { allowUnsigned: this.options.allowUnsigned, upstream: this.hostname });
  }

  fetchBytes(url: string, limit: number, signal?: AbortSignal): Promise<Buffer> {
    return fetchReleaseFile(this.http, url, limit, signal);
  }

  async fetchText(url: string, limit: number, signal?: AbortSignal): Promise<string> {
    return (await this.fetchBytes(url, limit, signal)).toString('utf8');
  }

  download(url: string, signal?: AbortSignal): Promise<StreamedResponse> {
    return downloadArchive(this.http, url, this.options.downloadMaxBytes, signal);
  }

  /** Counters of every request to this upstream, modules_url's client included. */
  stats(): HttpStats {
    const a = this.http.stats();
    if (this.modulesHttp === undefined) return a;
    const b = this.modulesHttp.stats();
    const results = { ...a.results };
    for (const [k, n] of Object.entries(b.results) as [keyof HttpStats['results'], number][]) results[k] = (results[k] ?? 0) + n;
    return {
      attempts: a.attempts + b.attempts,
      retries: a.retries + b.retries,
      inFlight: a.inFlight + b.inFlight,
      waiting: a.waiting + b.waiting,
      maxInFlight: Math.max(a.maxInFlight, b.maxInFlight),
      results,
    };
  }

  close(): void {
    this.http.close();
    this.modulesHttp?.close();
  }

  private async discover(): Promise<{ doc: unknown; url: string }> {
    const res = await notFoundAs(
      this.http.getJson(this.discoveryUrl, { limit: UPSTREAM_LIMITS.discovery, maxRedirects: DISCOVERY_REDIRECTS }),
      () => `${this.hostname} offers no services: ${describeUrl(this.discoveryUrl)} was not found`,
    );
    // Terraform refuses a discovery document not served as JSON; so do we, to fail the same way.
    if (!/^application\/json\b/i.test(res.contentType)) {
      throw new InvalidUpstreamResponse(res.url, `discovery document has ${describeContentType(res.contentType)}, expected application/json`);
    }
    if (typeof res.value !== 'object' || res.value === null || Array.isArray(res.value)) {
      throw new InvalidUpstreamResponse(res.url, 'discovery document is not a JSON object');
    }
    this.discovered = { doc: res.value, url: res.url, at: this.now() };
    return this.discovered;
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
  private readonly clients = new Map<string, UpstreamClient>();
  private readonly upstreams: Record<string, UpstreamConfig>;

  constructor(
    upstreams: Record<string, UpstreamConfig>,
    private readonly options: RegistryClientsOptions = {},
  ) {
    const configured = Object.entries(upstreams).map(([host, u]) => [host.toLowerCase(), u] as const);
    this.upstreams = { ...BUILT_IN_UPSTREAMS, ...Object.fromEntries(configured) };
  }

  /**
   * The client for `hostname`: a network mirror client when the upstream has
   * network_mirror, else a registry client (providers_url or discovery at
   * url). UnknownUpstream when it has no upstream.
   */
  get(hostname: string): UpstreamClient {
    if (!isValidHostname(hostname)) throw new InvalidInput(`invalid registry hostname ${JSON.stringify(hostname.slice(0, 300))}`, { key: 'hostname' });
    const key = hostname.toLowerCase();
    let client = this.clients.get(key);
    if (client === undefined) {
      const upstream = Object.hasOwn(this.upstreams, key) ? this.upstreams[key] : undefined;
      if (upstream === undefined) throw new UnknownUpstream(key);
      client = upstream.networkMirror
        ? new NetworkMirrorClient({ ...this.options, hostname: key, url: upstream.networkMirror })
        : new RegistryClient({
            ...this.options,
            hostname: key,
            url: upstream.url,
            providersUrl: upstream.providersUrl,
            modulesUrl: upstream.modulesUrl,
            allowUnsigned: upstream.allowUnsigned,
          });
      this.clients.set(key, client);
    }
    return client;
  }

  /**
   * The module registry client for `hostname`, sharing the provider client's
   * discovery. UnknownUpstream when it has no upstream; InvalidInput when the
   * upstream is a network mirror, which has no module protocol.
   */
  modules(hostname: string): ModuleUpstream {
    const client = this.get(hostname);
    if (!(client instanceof RegistryClient)) {
      throw new InvalidInput(`upstream ${client.hostname} is a network mirror and serves no modules`, { key: 'hostname' });
    }
    return client.modules();
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


function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
