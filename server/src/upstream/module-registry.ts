/**
 * Module Registry Protocol client for one upstream hostname (modules.v1):
 * the versions list and a version's download location. Built by
 * RegistryClient.modules(), which shares its service discovery (and HTTP
 * client, with its reach rules) with the provider client of the same host.
 * Failures are the provider client's: NotFound on 404, UpstreamError
 * subclasses otherwise, messages that never repeat the upstream's bytes.
 * Caching (metadata_ttl, stale_if_error) and backoff are the pull path's
 * (pull/metadata.ts), around this client, as for providers.
 */

import { InvalidInput } from '../errors.js';
import { formatModuleAddress, moduleAddressFromParts } from '../modules/address.js';
import type { ModuleAddress, ModuleUpstream } from '../modules/ports.js';
import { isValidVersion } from '../providers/version.js';
import { type ModuleVersionList, parseModuleDownload, parseModuleVersionList } from './documents.js';
import { InvalidUpstreamResponse, describeContentType } from './errors.js';
import type { HttpClient } from './http.js';
import { notFoundAs } from './upstream-http.js';

/** Response size bounds (registry.terraform.io's largest version lists are well under 100 KiB). */
export const MODULE_UPSTREAM_LIMITS = {
  versions: 4 * 1024 * 1024,
  download: 64 * 1024,
} as const;

export interface ModuleRegistryClientOptions {
  hostname: string;
  http: HttpClient;
  /** The modules.v1 base, ending in "/" (discovered, or modules_url). */
  baseUrl(signal?: AbortSignal): Promise<string>;
}

export class ModuleRegistryClient implements ModuleUpstream {
  readonly hostname: string;

  constructor(private readonly o: ModuleRegistryClientOptions) {
    this.hostname = o.hostname;
  }

  async listVersions(address: ModuleAddress, signal?: AbortSignal): Promise<string[]> {
    return (await this.versionList(address, signal)).versions;
  }

  /** The versions with the entries skipped as malformed (for logs and job notices). */
  async versionList(address: ModuleAddress, signal?: AbortSignal): Promise<ModuleVersionList> {
    const path = this.path(address);
    const url = `${await this.o.baseUrl(signal)}${path}/versions`;
    const res = await notFoundAs(this.o.http.getBuffer(url, { limit: MODULE_UPSTREAM_LIMITS.versions, signal, accept: 'application/json' }), () =>
      `module ${formatModuleAddress(address)} not found upstream`,
    );
    let doc: unknown;
    try {
      doc = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new InvalidUpstreamResponse(res.url, `expected a JSON document, got ${res.body.length} bytes of ${describeContentType(res.contentType)} that do not parse as JSON`);
    }
    return parseModuleVersionList(doc, res.url);
  }

  async downloadLocation(address: ModuleAddress, version: string, signal?: AbortSignal): Promise<string> {
    const path = this.path(address);
    if (!isValidVersion(version)) throw new InvalidInput(`invalid module version ${JSON.stringify(version.slice(0, 100))}`, { key: 'version' });
    const url = `${await this.o.baseUrl(signal)}${path}/${version}/download`;
    const res = await notFoundAs(this.o.http.getBuffer(url, { limit: MODULE_UPSTREAM_LIMITS.download, signal, accept: 'application/json' }), () =>
      `version ${version} of module ${formatModuleAddress(address)} not found upstream`,
    );
    return parseModuleDownload({ status: res.status, header: res.headers['x-terraform-get'], body: res.body, contentType: res.contentType }, res.url);
  }

  /** The address as URL path segments, checked first: nothing unchecked reaches a URL. */
  private path(a: ModuleAddress): string {
    const checked = moduleAddressFromParts(a.hostname, a.namespace, a.name, a.system);
    return `${checked.namespace}/${checked.name}/${checked.system}`;
  }
}
