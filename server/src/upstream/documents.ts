/**
 * Validation of Provider Registry Protocol documents (discovery, versions,
 * download metadata). Pure: takes parsed JSON and the URL it came from, so the
 * rules can be tested without a server. Everything an upstream says is
 * checked before it can name a file, a key or a URL we act on. Problems say
 * which field is wrong and what was expected, never the value that came: it
 * is the upstream's text, and it would travel into job items, custom
 * resource status and HTTP answers.
 */

import { isSha256Hex } from '../providers/hashes.js';
import { isValidPackageFilename } from '../providers/keys.js';
import { type Platform, type PlatformArch, type PlatformOs, formatPlatform, isKnownArch, isKnownOs } from '../providers/platform.js';
import { isValidVersion } from '../providers/version.js';
import { InvalidUpstreamResponse } from './errors.js';

/** A signing key as the registry lists it; kept in this wire shape so it can be stored and re-served as is. */
export interface GpgPublicKey {
  key_id: string;
  ascii_armor: string;
  trust_signature?: string;
  source?: string;
  source_url?: string;
}

export interface UpstreamVersion {
  version: string;
  protocols: string[];
  platforms: Platform[];
}

export interface VersionList {
  versions: UpstreamVersion[];
  /** Entries (or parts of entries) skipped as malformed, one message each. */
  problems: string[];
  /** The registry's own `warnings` (e.g. deprecation notices), bounded. */
  warnings: string[];
}

export interface DownloadInfo {
  protocols: string[];
  os: PlatformOs;
  arch: PlatformArch;
  filename: string;
  /** Absolute URLs, resolved against the metadata response URL. */
  downloadUrl: string;
  shasumsUrl: string;
  shasumsSignatureUrl: string;
  /** Lowercase hex sha256 of the zip; "" only for a network mirror that vouches with h1: hashes alone. */
  shasum: string;
  signingKeys: GpgPublicKey[];
  /** How the package is vouched for; absent means signed (the registry protocol's normal case). */
  trust?: DownloadTrust;
}

/**
 * What vouches for a package's bytes. `signed`: SHA256SUMS, its signature and
 * the listed keys, checked as Terraform does. `unsigned`: the upstream is
 * trusted without a signature, so the package is recorded unsigned (no key
 * ids) and checked only against the hashes it came with:
 * - `network_mirror`: a plain network mirror: no SHA256SUMS or signature
 *   exist (shasumsUrl and shasumsSignatureUrl are ""); `shasum` is its zh:
 *   hash ("" when it lists none) and `h1` its h1: hashes, at least one of the two.
 * - `no_signing_keys`: a registry release listing no signing keys, accepted
 *   because its upstream has allow_unsigned = true; SHA256SUMS still names the
 *   archive's shasum, the signature is not fetched.
 */
export type DownloadTrust = { kind: 'signed' } | { kind: 'unsigned'; reason: 'network_mirror' | 'no_signing_keys'; h1: string[] };

export interface DownloadInfoOptions {
  /** Accept a release listing no signing keys (trust `unsigned`, reason `no_signing_keys`). */
  allowUnsigned?: boolean;
  /** The upstream's hostname, named in the refusal of an unsigned release. */
  upstream?: string;
}

export const MAX_SIGNING_KEYS = 10;
export const MAX_ARMOR_BYTES = 64 * 1024;
const MAX_WARNINGS = 20;
const MAX_WARNING_LENGTH = 1000;
const PROTOCOL_PATTERN = /^[0-9]{1,3}(?:\.[0-9]{1,3})?$/;

/** Terraform speaks plugin protocols 5 and 6: a provider needs one of their majors. */
export function isSupportedProtocolList(protocols: readonly string[]): boolean {
  if (protocols.length === 0) return true;
  return protocols.some((p) => {
    const major = Number(p.split('.')[0]);
    return major >= 5 && major < 7;
  });
}

/** The providers.v1 base URL (absolute, ending in "/"), or undefined when the host offers none. */
export function parseDiscovery(doc: unknown, url: string): string | undefined {
  return parseService(doc, url, 'providers.v1');
}

/**
 * One service's base URL from a discovery document (absolute, ending in "/"),
 * or undefined when the host does not offer it. Each service is checked on
 * its own: a broken "modules.v1" does not take providers down, nor the reverse.
 */
export function parseService(doc: unknown, url: string, service: 'providers.v1' | 'modules.v1'): string | undefined {
  if (!isObject(doc)) throw new InvalidUpstreamResponse(url, 'discovery document is not a JSON object');
  const raw = doc[service];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new InvalidUpstreamResponse(url, `"${service}" is not a string`);
  const resolved = resolveUrl(raw, url, service);
  // Endpoints are resolved relative to this base, which only works as a directory.
  return resolved.endsWith('/') ? resolved : `${resolved}/`;
}

export interface ModuleVersionList {
  versions: string[];
  /** Entries skipped as malformed, one message each. */
  problems: string[];
}

/**
 * A module's versions document, `{"modules":[{"versions":[{"version":"1.0.0"}]}]}`.
 * Entries that are not strict semantic versions are skipped and reported, as
 * provider version lists do: versions become URL segments and object keys.
 * Only the first module entry counts (the protocol lists exactly one).
 */
export function parseModuleVersionList(doc: unknown, url: string): ModuleVersionList {
  const first = isObject(doc) && Array.isArray(doc.modules) ? (doc.modules[0] as unknown) : undefined;
  if (!isObject(doc) || !Array.isArray(doc.modules) || (first !== undefined && !(isObject(first) && Array.isArray(first.versions)))) {
    throw new InvalidUpstreamResponse(url, 'expected a JSON object with a "modules" array whose entry has a "versions" array');
  }
  const problems: string[] = [];
  const versions: string[] = [];
  const seen = new Set<string>();
  const entries: unknown[] = isObject(first) && Array.isArray(first.versions) ? first.versions : [];
  entries.forEach((entry, index) => {
    const where = `modules[0].versions[${index}]`;
    if (!isObject(entry) || typeof entry.version !== 'string') {
      problems.push(`${where}: not an object with a string "version"; skipped`);
    } else if (!isValidVersion(entry.version)) {
      problems.push(`${where}: "version" is not a semantic version; skipped`);
    } else if (seen.has(entry.version)) {
      problems.push(`${where}: version ${entry.version} is listed twice; the first entry is kept`);
    } else {
      seen.add(entry.version);
      versions.push(entry.version);
    }
  });
  return { versions, problems };
}

/** Longest module location accepted (real ones are a URL with a ref; go-getter has no limit, we do). */
export const MAX_MODULE_LOCATION_LENGTH = 4096;

/**
 * The location a module download answered: X-Terraform-Get on a 204 or 200
 * (Terraform reads only the header), else a 200's JSON `{"location"}` body
 * (OpenTofu reads it). Relative forms (`/`, `./`, `../`) are resolved against
 * `url`, the download URL that answered; go-getter's `//subdir` is split off
 * first (URL resolution would fold it) and put back before the query.
 */
export function parseModuleDownload(res: { status: number; header: string | string[] | undefined; body: Buffer; contentType: string }, url: string): string {
  if (res.status !== 200 && res.status !== 204) {
    throw new InvalidUpstreamResponse(url, `module download answered ${res.status}, expected 204 or 200 with X-Terraform-Get`);
  }
  const header = Array.isArray(res.header) ? res.header[0] : res.header;
  let location = header?.trim() ? header.trim() : undefined;
  if (location === undefined && res.status === 200) location = bodyLocation(res.body, url);
  if (location === undefined) throw new InvalidUpstreamResponse(url, 'module download answered without an X-Terraform-Get header or a "location"');
  if (location.length > MAX_MODULE_LOCATION_LENGTH) {
    throw new InvalidUpstreamResponse(url, `module location is ${location.length} characters long, more than the ${MAX_MODULE_LOCATION_LENGTH} accepted`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(location)) throw new InvalidUpstreamResponse(url, 'module location contains control characters');
  return isRelativeLocation(location) ? resolveRelativeLocation(location, url) : location;
}

function bodyLocation(body: Buffer, url: string): string | undefined {
  if (body.length === 0) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidUpstreamResponse(url, `module download answered 200 without X-Terraform-Get and with ${body.length} bytes that do not parse as JSON`);
  }
  if (!isObject(doc) || doc.location === undefined) return undefined;
  if (typeof doc.location !== 'string') throw new InvalidUpstreamResponse(url, '"location" is not a string');
  return doc.location.trim() || undefined;
}

/** Terraform's rule: only these prefixes make a location relative to the download URL. */
export function isRelativeLocation(location: string): boolean {
  return location.startsWith('/') || location.startsWith('./') || location.startsWith('../');
}

function resolveRelativeLocation(location: string, base: string): string {
  const queryAt = location.indexOf('?');
  const path = queryAt === -1 ? location : location.slice(0, queryAt);
  const query = queryAt === -1 ? '' : location.slice(queryAt);
  // A leading "//" is a scheme-relative authority, not a subdirectory.
  const subdirAt = path.indexOf('//', path.startsWith('//') ? 2 : 0);
  const source = subdirAt === -1 ? path : path.slice(0, subdirAt);
  const subdir = subdirAt === -1 ? '' : path.slice(subdirAt);
  let resolved: URL;
  try {
    resolved = new URL(source + query, base);
  } catch {
    throw new InvalidUpstreamResponse(base, 'module location is not a valid relative URL');
  }
  resolved.hash = '';
  const search = resolved.search;
  resolved.search = '';
  return `${resolved.href}${subdir}${search}`;
}

export function parseVersionList(doc: unknown, url: string): VersionList {
  if (!isObject(doc) || !Array.isArray(doc.versions)) {
    throw new InvalidUpstreamResponse(url, 'expected a JSON object with a "versions" array');
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const versions: UpstreamVersion[] = [];
  doc.versions.forEach((entry: unknown, index: number) => {
    const parsed = parseVersionEntry(entry, `versions[${index}]`, problems);
    if (parsed === undefined) return;
    if (seen.has(parsed.version)) {
      problems.push(`versions[${index}]: version ${parsed.version} is listed twice; the first entry is kept`);
      return;
    }
    seen.add(parsed.version);
    versions.push(parsed);
  });
  return { versions, problems, warnings: parseWarnings(doc.warnings) };
}

function parseVersionEntry(entry: unknown, where: string, problems: string[]): UpstreamVersion | undefined {
  if (!isObject(entry) || typeof entry.version !== 'string') {
    problems.push(`${where}: not an object with a string "version"; skipped`);
    return undefined;
  }
  const version = entry.version;
  if (!isValidVersion(version)) {
    problems.push(`${where}: "version" is not a semantic version; skipped`);
    return undefined;
  }
  const protocols = entry.protocols ?? [];
  if (!isStringArray(protocols) || !protocols.every((p) => PROTOCOL_PATTERN.test(p))) {
    problems.push(`${where} (${version}): "protocols" is not a list of versions like "5.0"; skipped`);
    return undefined;
  }
  const platforms: Platform[] = [];
  const rawPlatforms: unknown[] = Array.isArray(entry.platforms) ? entry.platforms : [];
  if (!Array.isArray(entry.platforms)) problems.push(`${where} (${version}): "platforms" is not a list`);
  for (const p of rawPlatforms) {
    if (isObject(p) && typeof p.os === 'string' && typeof p.arch === 'string' && isKnownOs(p.os) && isKnownArch(p.arch)) {
      if (!platforms.some((q) => q.os === p.os && q.arch === p.arch)) platforms.push({ os: p.os, arch: p.arch });
    } else {
      problems.push(`${where} (${version}): a platform is not an object with a known "os" and "arch"; skipped`);
    }
  }
  return { version, protocols, platforms };
}

function parseWarnings(raw: unknown): string[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((w): w is string => typeof w === 'string')
    .slice(0, MAX_WARNINGS)
    .map((w) => w.slice(0, MAX_WARNING_LENGTH));
}

/**
 * Download metadata for one platform, checked as Terraform checks it and
 * then some: the mirror stores what this names, so every field is bounded.
 */
export function parseDownloadInfo(doc: unknown, url: string, requested: Platform, opts: DownloadInfoOptions = {}): DownloadInfo {
  const fail = (problem: string): never => {
    throw new InvalidUpstreamResponse(url, problem);
  };
  if (!isObject(doc)) return fail('download metadata is not a JSON object');
  if (doc.os !== requested.os || doc.arch !== requested.arch) {
    fail(`"os" and "arch" are not the requested ${formatPlatform(requested)}`);
  }
  const protocols = doc.protocols ?? [];
  if (!isStringArray(protocols) || !protocols.every((p) => PROTOCOL_PATTERN.test(p))) {
    return fail('"protocols" is not a list of versions like "5.0"');
  }
  if (!isSupportedProtocolList(protocols)) {
    fail(`provider speaks plugin protocol ${protocols.join(', ')}, but Terraform supports only major versions 5 and 6`);
  }
  if (typeof doc.filename !== 'string' || !isValidPackageFilename(doc.filename)) {
    fail('"filename" is not a valid package file name (letters, digits, ".", "_", "+", "-", ending in .zip)');
  }
  if (typeof doc.shasum !== 'string' || !isSha256Hex(doc.shasum)) {
    fail('"shasum" is not a sha256 checksum (exactly 64 hex digits)');
  }
  const base = {
    protocols,
    os: requested.os,
    arch: requested.arch,
    filename: doc.filename as string,
    downloadUrl: resolveUrl(doc.download_url, url, 'download_url'),
    shasumsUrl: resolveUrl(doc.shasums_url, url, 'shasums_url'),
    shasum: (doc.shasum as string).toLowerCase(),
  };
  if (!listsSigningKeys(doc.signing_keys)) {
    if (!opts.allowUnsigned) {
      const where = opts.upstream ? `upstream "${opts.upstream}"` : "this upstream's block";
      fail(`the release is unsigned (no signing keys: "signing_keys.gpg_public_keys" is missing or empty); set allow_unsigned = true in ${where} to accept it unsigned`);
    }
    // The signature is never fetched, so a missing or odd URL for it does not matter.
    return { ...base, shasumsSignatureUrl: '', signingKeys: [], trust: { kind: 'unsigned', reason: 'no_signing_keys', h1: [] } };
  }
  return {
    ...base,
    shasumsSignatureUrl: resolveUrl(doc.shasums_signature_url, url, 'shasums_signature_url'),
    signingKeys: parseSigningKeys(doc.signing_keys, url),
    trust: { kind: 'signed' },
  };
}

function listsSigningKeys(raw: unknown): boolean {
  const list = isObject(raw) ? raw.gpg_public_keys : undefined;
  return Array.isArray(list) && list.length > 0;
}

function parseSigningKeys(raw: unknown, url: string): GpgPublicKey[] {
  const list = isObject(raw) ? raw.gpg_public_keys : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidUpstreamResponse(url, 'no signing keys ("signing_keys.gpg_public_keys" is missing or empty)');
  }
  if (list.length > MAX_SIGNING_KEYS) {
    throw new InvalidUpstreamResponse(url, `${list.length} signing keys listed; at most ${MAX_SIGNING_KEYS} are accepted`);
  }
  return list.map((k: unknown, i: number) => {
    if (!isObject(k) || typeof k.key_id !== 'string' || typeof k.ascii_armor !== 'string') {
      throw new InvalidUpstreamResponse(url, `gpg_public_keys[${i}] lacks a string "key_id" or "ascii_armor"`);
    }
    if (Buffer.byteLength(k.ascii_armor) > MAX_ARMOR_BYTES) {
      throw new InvalidUpstreamResponse(url, `gpg_public_keys[${i}] armor exceeds ${MAX_ARMOR_BYTES} bytes`);
    }
    const key: GpgPublicKey = { key_id: k.key_id.slice(0, 64), ascii_armor: k.ascii_armor };
    for (const field of ['trust_signature', 'source', 'source_url'] as const) {
      const v = k[field];
      if (typeof v === 'string') key[field] = v.slice(0, MAX_ARMOR_BYTES);
    }
    return key;
  });
}

/** Resolves an upstream-provided URL against the document it came from; only http(s) is accepted. */
export function resolveUrl(raw: unknown, base: string, field: string): string {
  if (typeof raw !== 'string' || raw === '') throw new InvalidUpstreamResponse(base, `"${field}" is missing or not a string`);
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    throw new InvalidUpstreamResponse(base, `"${field}" is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidUpstreamResponse(base, `"${field}" is not an http or https URL`);
  }
  if (url.username || url.password) {
    throw new InvalidUpstreamResponse(base, `"${field}" embeds credentials, which are not permitted`);
  }
  url.hash = '';
  return url.href;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
