/**
 * Provider versions: strict Semantic Versioning 2.0.0. Versions become
 * object-key and URL path segments and index.json keys, so only the exact
 * semver grammar is accepted (semver's own `valid()` would also take "v1.2.3"
 * and "=1.2.3", which must not reach storage).
 */

import semver from 'semver';
import { InvalidInput } from '../errors.js';

// The grammar from semver.org, anchored. Numeric identifiers have no leading zeros.
const NUMERIC = '0|[1-9][0-9]*';
const PRERELEASE_ID = `(?:${NUMERIC}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const BUILD_ID = '[0-9A-Za-z-]+';
const SEMVER_PATTERN = new RegExp(
  `^(${NUMERIC})\\.(${NUMERIC})\\.(${NUMERIC})` +
    `(?:-${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*)?` +
    `(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?$`,
);

// The semver package refuses longer strings and numbers beyond 2^53-1; keep
// the same bounds so every valid version can be compared.
const MAX_VERSION_LENGTH = 128;

const VERSION_RULE =
  'MAJOR.MINOR.PATCH with optional -prerelease and +build (semver 2.0.0), no leading "v", no leading zeros';

export function isValidVersion(s: string): boolean {
  if (s.length > MAX_VERSION_LENGTH) return false;
  const m = SEMVER_PATTERN.exec(s);
  if (m === null) return false;
  return [m[1], m[2], m[3]].every((n) => Number(n) <= Number.MAX_SAFE_INTEGER);
}

/**
 * Accepts the forms people and upstream tags commonly write (surrounding
 * whitespace, a leading "v") and returns the canonical string, or throws
 * InvalidInput. Build metadata is kept: Terraform keeps it too.
 */
export function normalizeVersion(s: string): string {
  const trimmed = s.trim();
  const candidate = /^[vV][0-9]/.test(trimmed) ? trimmed.slice(1) : trimmed;
  if (!isValidVersion(candidate)) {
    throw new InvalidInput(`invalid version ${JSON.stringify(s)}: expected ${VERSION_RULE}`, { key: 'version' });
  }
  return candidate;
}

/**
 * Semver precedence (-1, 0, 1). Build metadata has no precedence in semver;
 * versions differing only there are ordered by the build string so that
 * sorting is total and deterministic. Throws InvalidInput on invalid versions.
 */
export function compareVersions(a: string, b: string): number {
  for (const v of [a, b]) {
    if (!isValidVersion(v)) {
      throw new InvalidInput(`invalid version ${JSON.stringify(v)}: expected ${VERSION_RULE}`, { key: 'version' });
    }
  }
  const byPrecedence = semver.compare(a, b);
  if (byPrecedence !== 0) return byPrecedence;
  const buildA = buildOf(a);
  const buildB = buildOf(b);
  return buildA === buildB ? 0 : buildA < buildB ? -1 : 1;
}

function buildOf(v: string): string {
  const plus = v.indexOf('+');
  return plus === -1 ? '' : v.slice(plus + 1);
}

/** True for versions with a prerelease part (Terraform only selects those when named exactly). */
export function isPrerelease(v: string): boolean {
  const plus = v.indexOf('+');
  return (plus === -1 ? v : v.slice(0, plus)).includes('-');
}
