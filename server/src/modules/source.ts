/**
 * Module locations: the go-getter strings an upstream registry answers in
 * X-Terraform-Get, parsed into the two kinds the mirror fetches (git over
 * https, https archives) and checked before anything is contacted. Pure: no
 * I/O. Everything else go-getter would do (s3, gcs, hg, ssh, local files,
 * credentials in URLs) is refused here, naming the scheme, so a module the
 * mirror cannot hold fails with a reason instead of an opaque fetch error.
 */

import { InvalidInput } from '../errors.js';
import type { ArchiveLocation, GitLocation, ModuleLocation } from './ports.js';

export interface ParseLocationOptions {
  /** http:// locations are accepted (only for an upstream configured with an http url). */
  allowHttp: boolean;
}

const FORCED_PATTERN = /^([A-Za-z0-9]+)::(.*)$/s;
const SCHEME_PATTERN = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const SUPPORTED = 'git over https (git::https://…) and https archives (.tar.gz, .tgz, .zip, ?archive=)';

// Suffixes go-getter unpacks; only the first three are read here, the rest are named when refused.
const ARCHIVE_SUFFIXES: ReadonlyArray<[string, ArchiveLocation['format'] | undefined]> = [
  ['.tar.gz', 'tar.gz'],
  ['.tgz', 'tar.gz'],
  ['.zip', 'zip'],
  ['.tar.bz2', undefined],
  ['.tbz2', undefined],
  ['.tar.xz', undefined],
  ['.txz', undefined],
  ['.tar.zst', undefined],
  ['.tzst', undefined],
  ['.tar', undefined],
  ['.gz', undefined],
  ['.bz2', undefined],
  ['.xz', undefined],
  ['.zst', undefined],
];

/**
 * Parses `raw` (an X-Terraform-Get value) into a location. Relative forms
 * (`/`, `./`, `../`, as Terraform's registry client recognizes them) are
 * resolved against `base`, the URL the download answer came from.
 */
export function parseLocation(raw: string, base: string, opts: ParseLocationOptions): ModuleLocation {
  const text = raw.trim();
  if (text === '') throw refusal(raw, 'is empty');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\s\\]/.test(text)) {
    throw refusal(raw, 'contains whitespace, a control character or a backslash');
  }
  if (text.startsWith('/') || text.startsWith('./') || text.startsWith('../')) {
    return parseAbsolute(resolveRelative(text, base, raw), raw, opts);
  }
  return parseAbsolute(text, raw, opts);
}

/** The location in go-getter syntax; parseLocation of it gives the same location back. */
export function formatLocation(location: ModuleLocation): string {
  const subdir = location.subdir === undefined ? '' : `//${location.subdir}`;
  if (location.kind === 'git') {
    const ref = location.ref === undefined ? '' : `?ref=${encodeURIComponent(location.ref)}`;
    return `git::${location.url}${subdir}${ref}`;
  }
  const q = location.url.indexOf('?');
  const path = q === -1 ? location.url : location.url.slice(0, q);
  const params = q === -1 ? [] : [location.url.slice(q + 1)];
  if (archiveSuffix(new URL(path).pathname)?.[1] !== location.format) params.push(`archive=${location.format}`);
  if (location.checksum !== undefined) params.push(`checksum=${location.checksum}`);
  return `${path}${subdir}${params.length > 0 ? `?${params.join('&')}` : ''}`;
}

function parseAbsolute(text: string, raw: string, opts: ParseLocationOptions): ModuleLocation {
  let getter: string | undefined;
  let rest = text;
  const forced = FORCED_PATTERN.exec(text);
  if (forced) {
    getter = forced[1]!.toLowerCase();
    rest = forced[2]!;
    if (getter !== 'git' && getter !== 'http' && getter !== 'https') throw unsupportedGetter(getter, true, raw);
  }
  const { src, subdir } = splitSubdir(rest);
  const cleanSubdir = subdir === undefined ? undefined : checkSubdir(subdir, raw);
  let url = src;
  const scheme = SCHEME_PATTERN.exec(src)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    const detected = detect(src, raw);
    if (getter !== undefined && getter !== 'git') throw refusal(raw, `uses ${getter}:: with a ${detected.name}`);
    getter = 'git';
    url = detected.url;
  }
  if (getter === undefined) getter = scheme === 'http' || scheme === 'https' ? 'http' : scheme!;
  if (getter === 'git') return gitLocation(url, cleanSubdir, raw, opts);
  if (getter === 'http' || getter === 'https') return archiveLocation(url, cleanSubdir, raw, opts);
  throw unsupportedGetter(getter, false, raw);
}

function unsupportedGetter(getter: string, forced: boolean, raw: string): InvalidInput {
  if (['s3', 'gcs', 'hg', 'file', 'ssh'].includes(getter)) return refusal(raw, `uses ${getter}, which the mirror does not fetch`);
  return refusal(raw, `uses ${forced ? `the getter ${getter}::` : `the scheme ${getter}:`}, which the mirror does not know`);
}

/** go-getter's detectors for scheme-less sources, as far as they are supported or worth naming when refused. */
function detect(src: string, raw: string): { name: string; url: string } {
  if (src.startsWith('github.com/')) {
    // GitHubDetector: github.com/owner/repo[/subdir][?query] is git over https.
    const q = src.indexOf('?');
    const path = q === -1 ? src : src.slice(0, q);
    const query = q === -1 ? '' : src.slice(q);
    const parts = path.split('/');
    if (parts.length < 3 || parts[1] === '' || parts[2] === '') {
      throw refusal(raw, 'names github.com without owner/repository');
    }
    if (parts.length > 3) throw refusal(raw, 'names a path below a github.com repository; use //subdir');
    const repo = parts[2]!.endsWith('.git') ? parts[2] : `${parts[2]}.git`;
    return { name: 'GitHub shorthand', url: `https://github.com/${parts[1]}/${repo}${query}` };
  }
  if (/^[A-Za-z0-9_.-]+@[^/:]+:/.test(src)) throw refusal(raw, 'uses ssh (git@host:path), which the mirror does not fetch');
  if (src.startsWith('bitbucket.org/')) {
    throw refusal(raw, 'uses the bitbucket.org shorthand, which the mirror does not fetch; use git::https://');
  }
  if (/^[^/]*\.amazonaws\.com\//.test(src)) throw refusal(raw, 'uses s3, which the mirror does not fetch');
  if (/^[^/]*googleapis\.com\//.test(src)) throw refusal(raw, 'uses gcs, which the mirror does not fetch');
  throw refusal(raw, 'is a local path (file), which the mirror does not fetch');
}

function gitLocation(url: string, subdir: string | undefined, raw: string, opts: ParseLocationOptions): GitLocation {
  const parsed = parseHttpUrl(url, raw, opts, 'git');
  let ref: string | undefined;
  for (const [key, value] of parsed.searchParams) {
    if (key === 'sshkey') throw refusal(raw, 'carries an sshkey (ssh git), which the mirror does not use');
    if (key === 'ref') ref = value === '' ? undefined : checkRef(value, raw);
  }
  parsed.search = '';
  parsed.hash = '';
  const location: GitLocation = { kind: 'git', url: parsed.toString(), raw: withOnlyRef(raw) };
  if (ref !== undefined) location.ref = ref;
  if (subdir !== undefined) location.subdir = subdir;
  return location;
}

function archiveLocation(url: string, subdir: string | undefined, raw: string, opts: ParseLocationOptions): ArchiveLocation {
  const parsed = parseHttpUrl(url, raw, opts, 'archive');
  let format: ArchiveLocation['format'] | undefined;
  const archive = parsed.searchParams.get('archive');
  if (archive !== null) {
    const named = archiveSuffix(`.${archive.toLowerCase()}`);
    if (named === undefined || named[0] !== `.${archive.toLowerCase()}`) {
      throw refusal(raw, `names the archive format ${JSON.stringify(archive)}; supported: tar.gz, tgz, zip`);
    }
    if (named[1] === undefined) throw refusal(raw, `names the archive format ${archive}; supported: tar.gz, tgz, zip`);
    format = named[1];
  } else {
    const suffix = archiveSuffix(parsed.pathname);
    if (suffix === undefined) {
      throw refusal(raw, `is an ${parsed.protocol.slice(0, -1)} URL that names no archive; supported: ${SUPPORTED}`);
    }
    if (suffix[1] === undefined) throw refusal(raw, `is a ${suffix[0].slice(1)} archive; supported: tar.gz, tgz, zip`);
    format = suffix[1];
  }
  const checksum = parsed.searchParams.get('checksum');
  parsed.search = withoutParams(parsed.search, ['archive', 'checksum']);
  parsed.hash = '';
  const location: ArchiveLocation = { kind: 'archive', url: parsed.toString(), format, raw };
  if (subdir !== undefined) location.subdir = subdir;
  if (checksum !== null) location.checksum = checkChecksum(checksum, raw);
  return location;
}

function parseHttpUrl(url: string, raw: string, opts: ParseLocationOptions, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refusal(raw, `is not a valid ${what} URL`);
  }
  if (parsed.protocol === 'http:' && !opts.allowHttp) {
    throw refusal(raw, `uses plain http for ${what === 'git' ? 'git' : 'an archive'}; only https is fetched`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw refusal(raw, `uses ${parsed.protocol.slice(0, -1)}${what === 'git' ? ' for git' : ''}, which the mirror does not fetch`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw refusal(raw, 'carries credentials in the URL, which the mirror does not send upstream');
  }
  if (parsed.hostname === '') throw refusal(raw, 'has no host');
  return parsed;
}

/**
 * Terraform resolves `/`, `./`, `../` with Go's url.ResolveReference against
 * the download URL (RFC 3986: dot segments removed, `..` stops at the root,
 * the reference's own query). WHATWG URL resolution agrees for these forms;
 * backslashes, where they differ, are refused before this. The `//subdir` is
 * split off first, since resolution would otherwise read it as a path.
 */
function resolveRelative(text: string, base: string, raw: string): string {
  if (text.startsWith('//')) throw refusal(raw, 'is a network-path reference (//host/…); give the scheme');
  const { src, subdir } = splitSubdir(text);
  let resolved: URL;
  try {
    resolved = new URL(src, base);
  } catch {
    throw refusal(raw, `cannot be resolved against ${JSON.stringify(base)}`);
  }
  const s = resolved.toString();
  if (subdir === undefined) return s;
  const q = s.indexOf('?');
  return q === -1 ? `${s}//${subdir}` : `${s.slice(0, q)}//${subdir}${s.slice(q)}`;
}

/**
 * go-getter's SourceDirSubdir: the first `//` after the scheme's `://` and
 * before the query starts the subdirectory; a query after it belongs to the URL.
 */
export function splitSubdir(src: string): { src: string; subdir?: string } {
  const q = src.indexOf('?');
  const stop = q === -1 ? src.length : q;
  const schemeEnd = src.slice(0, stop).indexOf('://');
  const offset = schemeEnd === -1 ? 0 : schemeEnd + 3;
  const at = src.slice(offset, stop).indexOf('//');
  if (at === -1) return { src };
  const idx = offset + at;
  let subdir = src.slice(idx + 2);
  let url = src.slice(0, idx);
  const sq = subdir.indexOf('?');
  if (sq !== -1) {
    url += subdir.slice(sq);
    subdir = subdir.slice(0, sq);
  }
  return { src: url, subdir };
}

/** `a/b` with no empty, `.` or `..` segments; `*` only as the first segment (the single top-level directory). */
function checkSubdir(subdir: string, raw: string): string | undefined {
  const trimmed = subdir.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(trimmed);
  } catch {
    throw refusal(raw, `has a malformed subdirectory ${JSON.stringify(subdir)}`);
  }
  const segments = decoded.split('/');
  segments.forEach((s, i) => {
    if (s === '' || s === '.' || s === '..' || s.includes('\0') || s.includes('\\')) {
      throw refusal(raw, `has the subdirectory ${JSON.stringify(subdir)}, which leaves or does not name a directory`);
    }
    if (/[*?[\]]/.test(s) && !(s === '*' && i === 0)) {
      throw refusal(raw, `has the subdirectory pattern ${JSON.stringify(subdir)}; only a leading * is supported`);
    }
  });
  return decoded;
}

/**
 * A ref is passed to git as an argument: refuse what could be read as an
 * option or is no valid ref name (git check-ref-format), so an upstream
 * cannot smuggle flags into the command line.
 */
function checkRef(ref: string, raw: string): string {
  const bad =
    ref.startsWith('-') ||
    ref.startsWith('/') ||
    ref.endsWith('/') ||
    ref.endsWith('.') ||
    ref.endsWith('.lock') ||
    ref.includes('..') ||
    ref.includes('@{') ||
    ref.includes('//') ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0020\u007f~^:?*[\\]/.test(ref) ||
    ref.length > 255;
  if (bad) throw refusal(raw, `has the ref ${JSON.stringify(ref)}, which is not a valid git ref name`);
  return ref;
}

/**
 * The query without go-getter's own parameters, every other one byte for
 * byte: re-encoding through URLSearchParams could change a signed URL's
 * query (presigned S3, CDN tokens) and so break its signature.
 */
function withoutParams(search: string, names: readonly string[]): string {
  const kept = search
    .replace(/^\?/, '')
    .split('&')
    .filter((p) => p !== '' && !names.includes(safeDecode(p.split('=')[0]!)));
  return kept.length === 0 ? '' : `?${kept.join('&')}`;
}

const CHECKSUM_HEX_LENGTHS: Readonly<Record<string, number>> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };

/** `TYPE:HEX` as go-getter verifies it; its `file:` form (a checksum file to fetch) is not supported. */
function checkChecksum(value: string, raw: string): string {
  const [type = '', hex = ''] = value.split(':', 2);
  const length = CHECKSUM_HEX_LENGTHS[type.toLowerCase()];
  if (length === undefined || !new RegExp(`^[0-9a-fA-F]{${length}}$`).test(hex)) {
    throw refusal(raw, 'has a checksum that is not md5:, sha1:, sha256: or sha512: with a hex digest of that length');
  }
  return `${type.toLowerCase()}:${hex.toLowerCase()}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function archiveSuffix(path: string): [string, ArchiveLocation['format'] | undefined] | undefined {
  const lower = path.toLowerCase();
  return ARCHIVE_SUFFIXES.find(([suffix]) => lower.endsWith(suffix)) as [string, ArchiveLocation['format'] | undefined] | undefined;
}

// Records keep the location but not query values beyond ref (an sshkey, a depth are not ours to keep).
function withOnlyRef(raw: string): string {
  const q = raw.indexOf('?');
  if (q === -1) return raw;
  const kept = raw
    .slice(q + 1)
    .split('&')
    .filter((p) => p.split('=')[0] === 'ref');
  return kept.length === 0 ? raw.slice(0, q) : `${raw.slice(0, q)}?${kept.join('&')}`;
}

function refusal(raw: string, why: string): InvalidInput {
  return new InvalidInput(`module location ${JSON.stringify(redact(raw))} ${why}`, { key: 'location' });
}

// A refused location may carry a password; messages and logs must not.
function redact(raw: string): string {
  return raw.replace(/(\/\/)[^/@?#]*@/, '$1***@');
}
