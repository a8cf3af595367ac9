/**
 * The network mirror's request path, parsed without I/O so it can be tested on
 * its own (and with random input): segments are validated and normalized,
 * never joined into a file path; anything that does not validate is "not in
 * this source" (NotFound → 404), as the protocol wants.
 *
 *   /{hostname}/{namespace}/{type}/index.json
 *   /{hostname}/{namespace}/{type}/{version}.json
 *   /{hostname}/{namespace}/{type}/{archive}.zip              (the URL our {version}.json hands out)
 *   /{hostname}/{namespace}/{type}/{version}/{archive}.zip    (the same, with the version as its own segment)
 */

import type { ProviderIdentity } from '../db/providers.js';
import { InvalidInput, NotFound } from '../errors.js';
import { moduleAddressFromParts } from '../modules/address.js';
import type { ModuleAddress } from '../modules/ports.js';
import { isValidHostname, isValidNamespace, isValidType } from '../providers/address.js';
import { isValidPackageFilename } from '../providers/keys.js';
import { isValidVersion } from '../providers/version.js';

export type MirrorPath =
  | { kind: 'index'; provider: ProviderIdentity }
  | { kind: 'version'; provider: ProviderIdentity; version: string }
  | { kind: 'archive'; provider: ProviderIdentity; file: string; version?: string };

/**
 * Parses already-decoded path segments (what the router hands over), or a raw
 * path (percent-decoded here, segment by segment, so an encoded "/" stays
 * inside its segment and then fails validation).
 */
export function parseMirrorPath(input: readonly string[] | string): MirrorPath {
  const segments = typeof input === 'string' ? splitPath(input) : input;
  if (segments.length !== 4 && segments.length !== 5) throw new NotFound('not found');
  const provider = parseProvider(segments[0] ?? '', segments[1] ?? '', segments[2] ?? '');
  if (segments.length === 5) {
    const version = segments[3] ?? '';
    const file = segments[4] ?? '';
    if (!isValidVersion(version)) throw new NotFound(`not a version: ${version}`);
    if (!isArchiveName(file)) throw new NotFound('not found');
    return { kind: 'archive', provider, file, version };
  }
  return parseFile(provider, segments[3] ?? '');
}

/** The {file} segment after a provider address: index.json, {version}.json or an archive name. */
export function parseFile(provider: ProviderIdentity, file: string): MirrorPath {
  if (file === 'index.json') return { kind: 'index', provider };
  if (file.endsWith('.json')) {
    const version = file.slice(0, -'.json'.length);
    if (!isValidVersion(version)) throw new NotFound(`not a version: ${version}`);
    return { kind: 'version', provider, version };
  }
  if (isArchiveName(file)) return { kind: 'archive', provider, file };
  throw new NotFound('not found');
}

/** Hostname, namespace and type segments, lowercased (the mirror's canonical form). */
export function parseProvider(hostname: string, namespace: string, type: string): ProviderIdentity {
  const id = { hostname: hostname.toLowerCase(), namespace: namespace.toLowerCase(), type: type.toLowerCase() };
  if (!isValidHostname(id.hostname) || !isValidNamespace(id.namespace) || !isValidType(id.type)) {
    throw new NotFound('not a provider address');
  }
  return id;
}

/**
 * The module registry protocol's address segments (/hosts/H/v1/modules/{ns}/{name}/{system}/…):
 * an address that does not validate names no module, so it is a 404 like any other absent one.
 */
export function parseModuleParams(hostname: string, namespace: string, name: string, system: string): ModuleAddress {
  try {
    return moduleAddressFromParts(hostname, namespace, name, system);
  } catch (err) {
    if (err instanceof InvalidInput) throw new NotFound(`not a module address: ${err.message}`);
    throw err;
  }
}

/** A version segment; anything else is a 404. */
export function parseVersionParam(version: string): string {
  if (!isValidVersion(version)) throw new NotFound(`not a version: ${version.slice(0, 100)}`);
  return version;
}

function isArchiveName(file: string): boolean {
  return file.endsWith('.zip') && isValidPackageFilename(file);
}

function splitPath(path: string): string[] {
  const query = path.search(/[?#]/);
  const bare = query === -1 ? path : path.slice(0, query);
  const trimmed = bare.startsWith('/') ? bare.slice(1) : bare;
  return trimmed.split('/').map(decodeSegment);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed escape ("%zz", a lone surrogate) names nothing we hold.
    throw new NotFound('not found');
  }
}
