/**
 * Terraform version constraints for providers (`~> 5.40`, `>= 1.0, < 2.0, != 1.5.0`).
 * These are Terraform's rules, not npm's: Terraform parses provider constraints
 * with apparentlymart/go-versions (`ParseRubyStyleMulti` + `MeetingConstraints`),
 * and this module mirrors those semantics:
 *
 * - a comma-separated list of terms, all of which must hold;
 * - a term is `[op] version`, op one of = != > >= < <= ~> (none means =);
 * - a version may omit trailing parts (`1`, `1.2`); missing parts are zero,
 *   so `= 1.2` means exactly 1.2.0;
 * - `~>` with three parts allows patch updates (`~> 1.2.0` = >= 1.2.0, < 1.3.0),
 *   with one or two parts minor updates (`~> 1.2` and `~> 1` = >= 1.x.0, < 2.0.0);
 * - build metadata counts only for = and !=;
 * - a prerelease is selected only when an `=` term names it exactly
 *   (Terraform's `RequestedByConstraints`): `>= 1.0.0-rc1` never picks 1.0.0-rc1.
 *
 * Parsing is a little stricter than Terraform where Terraform's leniency only
 * hides typos: an empty term (a trailing comma) and leading zeros are refused.
 */

import semver from 'semver';
import { InvalidInput } from '../errors.js';
import { compareVersions, isPrerelease, isValidVersion } from './version.js';

export type ConstraintOperator = '=' | '!=' | '>' | '>=' | '<' | '<=' | '~>';

export interface ConstraintTerm {
  op: ConstraintOperator;
  /** The version as written: 1 to 3 numeric parts, optional prerelease and build. */
  written: string;
  /** The boundary compared against: `written` with missing parts filled with zeros. */
  version: string;
  /** Exclusive upper bound of a `~>` term; absent when it would overflow (no upper bound). */
  below?: string;
}

export interface Constraint {
  /** The text as given (trimmed). */
  text: string;
  terms: readonly ConstraintTerm[];
}

const OPERATORS: readonly ConstraintOperator[] = ['=', '!=', '>', '>=', '<', '<=', '~>'];

const ALLOWED =
  'expected comma-separated terms "[operator] version" with operator one of =, !=, >, >=, <, <=, ~> ' +
  '(none means =) and version MAJOR[.MINOR[.PATCH]][-prerelease][+build], e.g. "~> 5.40" or ">= 1.2, < 2.0"';

// What Terraform's scanner treats as the operator: everything before the first
// digit, letter, dot, asterisk or space. Capturing it this broadly lets us name
// the bad operator (">>", "^", "=>") instead of failing on the version.
const TERM_PATTERN = /^([^0-9A-Za-z.*\s]*)\s*(.*)$/s;
const WRITTEN_VERSION = /^([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

// A constraint is short in practice; the bound keeps error messages and work small.
const MAX_CONSTRAINT_LENGTH = 1024;

/** Parses a constraint string; throws InvalidInput naming the bad term and what is allowed. */
export function parseConstraints(text: string): Constraint {
  const trimmed = text.trim();
  if (trimmed === '') fail(text, 'it is empty');
  if (trimmed.length > MAX_CONSTRAINT_LENGTH) fail(text, `it is longer than ${MAX_CONSTRAINT_LENGTH} characters`);
  if (trimmed.includes('||')) fail(text, '"||" (or) is not supported: all terms must hold, joined with commas');
  const terms = trimmed.split(',').map((raw, n) => parseTerm(text, raw.trim(), n));
  return { text: trimmed, terms };
}

/**
 * The canonical text of a constraint: terms as written, "op version", joined
 * by ", ". Parsing it gives the same terms back (a property test holds us to
 * it). Near the length limit the readable form can outgrow it ("1,1" becomes
 * "= 1, = 1"); the compact form ("=" left out, no spaces) never is longer
 * than the text that was parsed, so it is used then.
 */
export function formatConstraints(c: Constraint): string {
  const readable = c.terms.map((t) => `${t.op} ${t.written}`).join(', ');
  if (readable.length <= MAX_CONSTRAINT_LENGTH) return readable;
  return c.terms.map((t) => (t.op === '=' ? t.written : t.op + t.written)).join(',');
}

function parseTerm(text: string, term: string, n: number): ConstraintTerm {
  if (term === '') fail(text, n === 0 ? 'it starts with a comma' : `term ${n + 1} is empty (a stray comma?)`);
  const [, op = '', written = ''] = TERM_PATTERN.exec(term) ?? [];
  if (!isOperator(op)) fail(text, `${JSON.stringify(op)} in ${JSON.stringify(term)} is not an operator${opHint(op)}`);
  if (written === '') fail(text, `operator ${JSON.stringify(op)} has no version after it`);
  const version = boundaryOf(text, term, written);
  const t: ConstraintTerm = { op: op === '' ? '=' : op, written, version };
  if (t.op === '~>') {
    const below = pessimisticUpperBound(written, version);
    if (below !== undefined) t.below = below;
  }
  return t;
}

function isOperator(op: string): op is ConstraintOperator | '' {
  return op === '' || (OPERATORS as readonly string[]).includes(op);
}

function opHint(op: string): string {
  if (op === '=>') return '; did you mean ">="?';
  if (op === '=<') return '; did you mean "<="?';
  if (op === '^' || op === '~') return `; npm-style ${JSON.stringify(op)} ranges are not Terraform syntax, use "~>"`;
  if (op === '==') return '; use "="';
  return '';
}

/** The written version with missing parts set to zero, checked as strict semver. */
function boundaryOf(text: string, term: string, written: string): string {
  const quoted = JSON.stringify(written);
  if (/^[vV][0-9]/.test(written)) fail(text, `${quoted} has a "v" prefix, which Terraform does not allow`);
  if (/(^|\.)[*xX](\.|$)/.test(written.split(/[-+]/)[0] ?? '')) {
    fail(text, `${quoted} uses a wildcard; omit trailing parts instead (e.g. "~> 1.2" for any 1.x from 1.2)`);
  }
  if (/\s/.test(written)) fail(text, `unexpected text after the version in ${JSON.stringify(term)} (missing comma?)`);
  if (/^[0-9]+(\.[0-9]+){3,}/.test(written)) {
    fail(text, `${quoted} has more than three numeric parts (major.minor.patch)`);
  }
  const m = WRITTEN_VERSION.exec(written);
  const padded = m ? `${m[1]}.${m[2] ?? '0'}.${m[3] ?? '0'}${m[4] ?? ''}${m[5] ?? ''}` : '';
  if (!m || !isValidVersion(padded)) {
    fail(text, `${quoted} in ${JSON.stringify(term)} is not a version (no leading zeros, no empty identifiers)`);
  }
  return padded;
}

/**
 * `~> X.Y.Z` allows patch updates, `~> X.Y` and `~> X` minor ones (go-versions
 * counts the numeric parts written, so `~> 1-beta` still means < 2.0.0).
 */
function pessimisticUpperBound(written: string, version: string): string | undefined {
  const parts = written.split(/[-+]/)[0]!.split('.').length;
  const major = semver.major(version);
  const minor = semver.minor(version);
  const next = parts === 3 ? `${major}.${minor + 1}.0` : `${major + 1}.0.0`;
  // A bound beyond 2^53-1 cannot be represented; nothing valid lies above it anyway.
  return isValidVersion(next) ? next : undefined;
}

function fail(text: string, reason: string): never {
  throw new InvalidInput(`invalid version constraint ${JSON.stringify(text)}: ${reason}; ${ALLOWED}`, {
    key: 'version',
  });
}

/**
 * True when `version` (strict semver) meets every term. Invalid version
 * strings never match: upstream version lists are untrusted and such a
 * version could not be stored anyway.
 */
export function matches(c: Constraint, version: string): boolean {
  if (!isValidVersion(version)) return false;
  if (!c.terms.every((t) => termHolds(t, version))) return false;
  return !isPrerelease(version) || c.terms.some((t) => t.op === '=' && compareVersions(t.version, version) === 0);
}

function termHolds(t: ConstraintTerm, v: string): boolean {
  switch (t.op) {
    case '=':
      return compareVersions(v, t.version) === 0; // includes build metadata, as go-versions does
    case '!=':
      return compareVersions(v, t.version) !== 0;
    case '>':
      return semver.compare(v, t.version) > 0;
    case '>=':
      return semver.compare(v, t.version) >= 0;
    case '<':
      return semver.compare(v, t.version) < 0;
    case '<=':
      return semver.compare(v, t.version) <= 0;
    case '~>':
      return semver.compare(v, t.version) >= 0 && (t.below === undefined || semver.compare(v, t.below) < 0);
  }
}

/** A plain full version ("5.31.0"), as opposed to a constraint ("~> 5.40", "= 5.31", "5.31"). */
export function isExactVersion(text: string): boolean {
  return isValidVersion(text.trim());
}

/**
 * The versions of `available` meeting `c`, newest first, without duplicates;
 * at most `latest` of them when given. Invalid entries are skipped.
 */
export function resolve(c: Constraint, available: readonly string[], latest?: number): string[] {
  if (latest !== undefined && (!Number.isInteger(latest) || latest < 1)) {
    throw new InvalidInput(`latest must be a positive integer, got ${latest}`, { key: 'latest' });
  }
  const found = [...new Set(available)].filter((v) => matches(c, v)).sort((a, b) => compareVersions(b, a));
  return latest === undefined ? found : found.slice(0, latest);
}
