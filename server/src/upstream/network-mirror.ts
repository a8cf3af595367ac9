/**
 * The ProviderRegistry port over a Provider Network Mirror (Artifactory, a
 * `terraform providers mirror` directory behind nginx, another
 * terraform-mirror's root): index.json for the versions, {version}.json for
 * each version's archives and hashes. A network mirror has no SHA256SUMS,
 * signature or keys: its h1:/zh: hashes are what vouch for a package, so
 * DownloadInfo says trust "unsigned" (reason "network_mirror") and the write
 * path records the packages unsigned and checks the bytes against those hashes.
 *
 * Platforms are only in {version}.json, and the planner needs them for every
 * version, so listVersions reads every version's document (a few at a time);
 * they are kept briefly so the downloads that follow do not ask again.
 */

import { InvalidInput, NotFound } from '../errors.js';
import { isSha256Hex, parseHash } from '../providers/hashes.js';
import { packageFilename } from '../providers/keys.js';
import { type Platform, formatPlatform, isKnownArch, isKnownOs, platformOf } from '../providers/platform.js';
import { isValidVersion } from '../providers/version.js';
import { untilAborted } from '../storage/streaming.js';
import { type DownloadInfo, type UpstreamVersion, type VersionList, resolveUrl } from './documents.js';
import { InvalidUpstreamResponse } from './errors.js';
import type { HttpClient, HttpStats, StreamedResponse } from './http.js';
import type { UpstreamClient } from './registry.js';
import { type UpstreamHttpOptions, assertProvider, downloadArchive, fetchReleaseFile, notFoundAs, upstreamHttpClient } from './upstream-http.js';

export interface NetworkMirrorClientOptions extends UpstreamHttpOptions {
  /** The provider hostname this upstream stands for; it is the first path segment under the mirror's base. */
  hostname: string;
  /** The mirror's base URL (a trailing slash is added if missing); it decides the reach rules. */
  url: string;
  /** Largest archive accepted, bytes (default 2 GiB). */
  downloadMaxBytes?: number;
  /** How long a {version}.json is reused, ms (default 60 s). */
  versionDocumentTtlMs?: number;
}

export const NETWORK_MIRROR_LIMITS = { index: 4 * 1024 * 1024, versionDocument: 1024 * 1024 } as const;

/** {version}.json requests in flight at once while listing. */
const LISTING_CONCURRENCY = 4;
const MAX_CACHED_DOCUMENTS = 512;
const MAX_ARCHIVES = 64;

/** One platform's entry of a {version}.json, checked. */
export interface MirrorArchive {
  /** Absolute, resolved against the final URL of the document. */
  url: string;
  /** The final URL of the {version}.json it is listed in. */
  documentUrl: string;
  /** Lowercase hex sha256 from a zh: hash, when listed. */
  sha256?: string;
  h1: string[];
}

export class NetworkMirrorClient implements UpstreamClient {
  readonly hostname: string;
  readonly baseUrl: string;
  private readonly http: HttpClient;
  private readonly now: () => number;
  private readonly documents = new Map<string, { at: number; value: Promise<Map<string, MirrorArchive>> }>();

  constructor(private readonly options: NetworkMirrorClientOptions) {
    this.hostname = options.hostname.toLowerCase();
    this.baseUrl = options.url.endsWith('/') ? options.url : `${options.url}/`;
    this.http = upstreamHttpClient(options, this.baseUrl);
    this.now = options.now ?? Date.now;
  }

  async listVersions(namespace: string, type: string, signal?: AbortSignal): Promise<VersionList> {
    assertProvider(namespace, type);
    const url = this.providerUrl(namespace, type, 'index.json');
    const res = await notFoundAs(this.http.getJson(url, { limit: NETWORK_MIRROR_LIMITS.index, signal }), () => `provider ${this.source(namespace, type)} not found upstream`);
    const problems: string[] = [];
    const listed = parseMirrorIndex(res.value, res.url, problems);
    const versions: UpstreamVersion[] = [];
    let next = 0;
    const worker = async () => {
      while (next < listed.length) {
        const version = listed[next++]!;
        try {
          const archives = await this.versionDocument(namespace, type, version, signal);
          const platforms = [...archives.keys()].map(toPlatform);
          versions.push({ version, protocols: [], platforms });
        } catch (err) {
          if (!(err instanceof NotFound || err instanceof InvalidUpstreamResponse)) throw err;
          problems.push(`${err.message}; skipped`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LISTING_CONCURRENCY, listed.length) }, worker));
    // In the index's order, whatever order the documents arrived in.
    const order = new Map(listed.map((v, i) => [v, i]));
    versions.sort((a, b) => order.get(a.version)! - order.get(b.version)!);
    return { versions, problems, warnings: [] };
  }

  async downloadInfo(namespace: string, type: string, version: string, os: string, arch: string, signal?: AbortSignal): Promise<DownloadInfo> {
    assertProvider(namespace, type);
    if (!isValidVersion(version)) throw new InvalidInput(`invalid version ${JSON.stringify(version)}`, { key: 'version' });
    const platform = platformOf(os, arch);
    const archive = (await this.versionDocument(namespace, type, version, signal)).get(formatPlatform(platform));
    if (archive === undefined) throw new NotFound(`platform ${formatPlatform(platform)} not supported by ${this.source(namespace, type)} ${version} upstream`);
    if (archive.sha256 === undefined && archive.h1.length === 0) {
      // Its hashes are all that vouch for a mirror's package: with none, nothing could be checked.
      throw new InvalidUpstreamResponse(archive.documentUrl, `archives["${formatPlatform(platform)}"] lists no h1: or zh: hash to verify the package against`);
    }
    return {
      protocols: [],
      os: platform.os,
      arch: platform.arch,
      // A network mirror names no file; the release naming keeps ours canonical whatever its URLs look like.
      filename: packageFilename(type, version, os, arch),
      downloadUrl: archive.url,
      shasumsUrl: '',
      shasumsSignatureUrl: '',
      shasum: archive.sha256 ?? '',
      signingKeys: [],
      trust: { kind: 'unsigned', reason: 'network_mirror', h1: archive.h1 },
    };
  }

  fetchBytes(url: string, limit: number, signal?: AbortSignal): Promise<Buffer> {
    return fetchReleaseFile(this.http, url, limit, signal);
  }

  download(url: string, signal?: AbortSignal): Promise<StreamedResponse> {
    return downloadArchive(this.http, url, this.options.downloadMaxBytes, signal);
  }

  stats(): HttpStats {
    return this.http.stats();
  }

  close(): void {
    this.http.close();
    this.documents.clear();
  }

  /** A version's archives; concurrent and recent callers share one request, a failure is not kept. */
  private versionDocument(namespace: string, type: string, version: string, signal?: AbortSignal): Promise<Map<string, MirrorArchive>> {
    const key = `${namespace}/${type}/${version}`;
    const ttl = this.options.versionDocumentTtlMs ?? 60_000;
    const cached = this.documents.get(key);
    if (cached && this.now() - cached.at < ttl) return cached.value;
    const url = this.providerUrl(namespace, type, `${version}.json`);
    // The shared request carries no caller's signal: one caller giving up must not fail the others.
    const value = notFoundAs(this.http.getJson(url, { limit: NETWORK_MIRROR_LIMITS.versionDocument }), () => `version ${version} of ${this.source(namespace, type)} not found upstream`).then(
      (res) => parseMirrorVersion(res.value, res.url),
    );
    this.documents.set(key, { at: this.now(), value });
    value.catch(() => {
      if (this.documents.get(key)?.value === value) this.documents.delete(key);
    });
    if (this.documents.size > MAX_CACHED_DOCUMENTS) this.documents.delete(this.documents.keys().next().value!);
    return untilAborted(value, signal);
  }

  private providerUrl(namespace: string, type: string, file: string): string {
    // Concatenated, not resolved: a hostname with a port ("h:8443/…") would parse as a URL scheme.
    return `${this.baseUrl}${this.hostname}/${namespace}/${type}/${file}`;
  }

  private source(namespace: string, type: string): string {
    return `${this.hostname}/${namespace}/${type}`;
  }
}

/** The versions an index.json lists, valid ones only (the rest are named in `problems`). */
export function parseMirrorIndex(doc: unknown, url: string, problems: string[]): string[] {
  if (!isObject(doc) || !isObject(doc.versions)) throw new InvalidUpstreamResponse(url, 'expected a JSON object with a "versions" object');
  const versions: string[] = [];
  for (const v of Object.keys(doc.versions)) {
    if (isValidVersion(v)) versions.push(v);
    else problems.push(`a version key is not a semantic version; skipped`);
  }
  return versions;
}

/** A {version}.json's archives by "os_arch"; entries with an unknown platform are left out, bad ones refused. */
export function parseMirrorVersion(doc: unknown, url: string): Map<string, MirrorArchive> {
  if (!isObject(doc) || !isObject(doc.archives)) throw new InvalidUpstreamResponse(url, 'expected a JSON object with an "archives" object');
  const entries = Object.entries(doc.archives);
  if (entries.length > MAX_ARCHIVES) throw new InvalidUpstreamResponse(url, `${entries.length} archives listed; at most ${MAX_ARCHIVES} are accepted`);
  const out = new Map<string, MirrorArchive>();
  for (const [platform, entry] of entries) {
    const [os = '', arch = '', extra] = platform.split('_');
    if (extra !== undefined || !isKnownOs(os) || !isKnownArch(arch)) continue;
    if (!isObject(entry)) throw new InvalidUpstreamResponse(url, `archives["${platform}"] is not an object`);
    const hashes = entry.hashes ?? [];
    if (!Array.isArray(hashes) || !hashes.every((h) => typeof h === 'string')) {
      throw new InvalidUpstreamResponse(url, `archives["${platform}"].hashes is not a list of strings`);
    }
    const zh = hashes.find((h: string) => h.startsWith('zh:') && isSha256Hex(h.slice(3)));
    const h1 = hashes.filter((h: string) => h.startsWith('h1:') && isValidHash(h)).slice(0, 8);
    out.set(platform, {
      url: resolveUrl(entry.url, url, `archives["${platform}"].url`),
      documentUrl: url,
      ...(zh === undefined ? {} : { sha256: zh.slice(3).toLowerCase() }),
      h1,
    });
  }
  return out;
}

function isValidHash(h: string): boolean {
  try {
    parseHash(h);
    return true;
  } catch {
    return false;
  }
}

function toPlatform(key: string): Platform {
  const [os = '', arch = ''] = key.split('_');
  return platformOf(os, arch);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

