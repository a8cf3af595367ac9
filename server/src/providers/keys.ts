/**
 * Canonical object-store keys and release file names. The database stores
 * these keys (never URLs); every segment is validated here so no caller can
 * produce a key that escapes its provider's prefix ("..", "/", "\").
 */

import { InvalidInput } from '../errors.js';
import { type ProviderAddress, isValidType, normalizeAddress } from './address.js';
import { formatPlatform, platformOf } from './platform.js';
import { isValidVersion } from './version.js';

const KEY_ROOT = 'providers';
const MAX_FILENAME_LENGTH = 255;
// Starts with a letter or digit so it can never be ".", ".." or a hidden file.
const PACKAGE_FILENAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]*\.zip$/;

export function isValidPackageFilename(s: string): boolean {
  return s.length <= MAX_FILENAME_LENGTH && PACKAGE_FILENAME_PATTERN.test(s);
}

/** `terraform-provider-{type}_{version}_{os}_{arch}.zip`, the upstream release naming. */
export function packageFilename(type: string, version: string, os: string, arch: string): string {
  assertType(type);
  assertVersion(version);
  const platform = formatPlatform(platformOf(os, arch));
  return `terraform-provider-${type.toLowerCase()}_${version}_${platform}.zip`;
}

/** `terraform-provider-{type}_{version}_SHA256SUMS`. */
export function shasumsFilename(type: string, version: string): string {
  assertType(type);
  assertVersion(version);
  return `terraform-provider-${type.toLowerCase()}_${version}_SHA256SUMS`;
}

/** `terraform-provider-{type}_{version}_SHA256SUMS.sig`. */
export function signatureFilename(type: string, version: string): string {
  return `${shasumsFilename(type, version)}.sig`;
}

/** `providers/{hostname}/{namespace}/{type}/{version}/`: everything stored for one version. */
export function versionKeyPrefix(addr: ProviderAddress, version: string): string {
  assertVersion(version);
  return `${providerKeyPrefix(addr)}${version}/`;
}

/** `providers/{hostname}/{namespace}/{type}/`: everything stored for one provider. */
export function providerKeyPrefix(addr: ProviderAddress): string {
  const a = normalizeAddress(addr);
  return `${KEY_ROOT}/${a.hostname}/${a.namespace}/${a.type}/`;
}

/** Key of a package zip. The filename is kept as given (upstream names are served unchanged). */
export function packageKey(addr: ProviderAddress, version: string, filename: string): string {
  if (!isValidPackageFilename(filename)) {
    throw new InvalidInput(
      `invalid package filename ${JSON.stringify(filename)}: expected letters, digits, ".", "_", "+", "-" ending in .zip`,
      { key: 'filename' },
    );
  }
  return versionKeyPrefix(addr, version) + filename;
}

export function shasumsKey(addr: ProviderAddress, version: string): string {
  return versionKeyPrefix(addr, version) + shasumsFilename(normalizeAddress(addr).type, version);
}

export function signatureKey(addr: ProviderAddress, version: string): string {
  return versionKeyPrefix(addr, version) + signatureFilename(normalizeAddress(addr).type, version);
}

function assertType(type: string): void {
  if (!isValidType(type)) {
    throw new InvalidInput(`invalid provider type ${JSON.stringify(type)}`, { key: 'type' });
  }
}

function assertVersion(version: string): void {
  if (!isValidVersion(version)) {
    throw new InvalidInput(`invalid version ${JSON.stringify(version)}: expected strict semver`, { key: 'version' });
  }
}

/** The registry's signing keys for a version, stored as served (JSON list of {key_id, ascii_armor, …}). */
export function signingKeysKey(addr: ProviderAddress, version: string): string {
  return versionKeyPrefix(addr, version) + 'signing-keys.json';
}
