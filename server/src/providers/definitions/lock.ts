/**
 * A Terraform dependency lock file (`.terraform.lock.hcl`) read as provider
 * definitions: each `provider "host/ns/type" { version, constraints, hashes }`
 * becomes one definition of exactly the pinned version, carrying the pinned
 * hashes so that loading refuses a package the lock does not vouch for.
 *
 * A lock file names no platforms (its h1: hashes cover only the platforms
 * `terraform init` ran on, its zh: hashes every platform of a registry
 * release), so the caller names them; none named is refused rather than
 * guessed, because "every platform upstream offers" is often gigabytes.
 */

import { formatAddress, parseSourceAddress, type ProviderAddress } from '../address.js';
import { isExactVersion } from '../constraints.js';
import type { Platform } from '../platform.js';
import { readHcl } from './hcl.js';
import { scanHcl } from './hcl-scan.js';
import { describe, type Located } from './located.js';
import { Problems } from './problems.js';
import type { ProviderEntry } from './schema.js';
import type { ProviderDefinition } from './types.js';

export const LOCK_FILE_NAME = '.terraform.lock.hcl';

const H1 = /^h1:[A-Za-z0-9+/]{43}=$/;
const ZH = /^zh:[0-9a-f]{64}$/;

/**
 * A lock file by its name, or by content: provider blocks with a `hashes`
 * list, which definitions never have. (Not by a singular `version`: in a
 * definition that is a typo of `versions`, and its error says so.) Only the
 * first 64 KiB are looked at.
 */
export function isLockFile(text: string, filename?: string): boolean {
  const base = (filename ?? '').split(/[\\/]/).pop() ?? '';
  if (base === LOCK_FILE_NAME) return true;
  const head = text.slice(0, 65536);
  return /^\s*provider\s+"[^"\n]*"\s*\{/m.test(head) && /^\s*hashes\s*=/m.test(head);
}

export interface ParseLockOptions {
  /** Named in every message. */
  file: string;
  /** What to mirror of every pinned version; required (a lock file names none). */
  platforms: readonly Platform[];
}

/** All-or-nothing like every definition format: any problem is one InvalidInput with line and column. */
export async function parseLockFile(text: string, opts: ParseLockOptions): Promise<ProviderDefinition[]> {
  const problems = new Problems(opts.file);
  if (opts.platforms.length === 0) {
    problems.add(
      { line: 1, column: 1 },
      undefined,
      'a lock file pins versions and hashes but no platforms: name the platforms to mirror (tfmirror load --platform linux_amd64 …, or ?platform=linux_amd64 on the admin API)',
    );
    problems.throwIfAny();
  }
  const read = await readHcl(text, scanHcl(text), problems);
  const entries = read?.providers ?? [];
  // Terraform's lock file pins providers only; module blocks beside them mean the file is something else.
  for (const m of read?.modules ?? []) problems.add(m.node.pos, m.path, 'a lock file pins providers only: load module blocks from a definitions file');
  const out: ProviderDefinition[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    const def = readLocked(entry, opts.platforms, problems);
    if (!def) continue;
    if (seen.has(def.source)) {
      problems.add(entry.node.pos, entry.path, `duplicate provider ${def.source}`);
      continue;
    }
    seen.add(def.source);
    out.push(def);
  }
  problems.throwIfAny();
  return out;
}

function readLocked(entry: ProviderEntry, platforms: readonly Platform[], problems: Problems): ProviderDefinition | undefined {
  const { node, path } = entry;
  if (node.kind !== 'map') {
    problems.add(node.pos, path, `expected a block with version and hashes, got ${describe(node)}`);
    return undefined;
  }
  const before = problems.count;
  // Keys other than these are ignored: the lock file is Terraform's format, and a newer Terraform may add some.
  const value = (key: string) => node.entries.find((e) => e.key === key)?.value;
  const address = entry.label && readAddress(entry.label, path, problems);
  const versionNode = value('version');
  let version: string | undefined;
  if (!versionNode) problems.add(node.pos, path, 'missing required key "version"');
  else version = readVersion(versionNode, `${path}.version`, problems);
  const hashesNode = value('hashes');
  const hashes = hashesNode ? readHashes(hashesNode, `${path}.hashes`, problems) : [];
  if (problems.count > before || !address || version === undefined || !hashes) return undefined;
  return {
    address,
    source: formatAddress(address),
    versions: [{ text: version, exact: version }],
    platforms: [...platforms],
    hashes,
    position: node.pos,
  };
}

function readAddress(label: Located, path: string, problems: Problems): ProviderAddress | undefined {
  if (label.kind !== 'scalar' || typeof label.value !== 'string') {
    problems.add(label.pos, path, 'expected the provider source address as the block label');
    return undefined;
  }
  try {
    return parseSourceAddress(label.value);
  } catch (err) {
    problems.add(label.pos, path, (err as Error).message);
    return undefined;
  }
}

function readVersion(node: Located, path: string, problems: Problems): string | undefined {
  const text = node.kind === 'scalar' && typeof node.value === 'string' ? node.value.trim() : undefined;
  if (text === undefined || !isExactVersion(text)) {
    problems.add(node.pos, path, `expected the exact version the lock pins, e.g. "3.2.1", got ${describe(node)}`);
    return undefined;
  }
  return text;
}

function readHashes(node: Located, path: string, problems: Problems): string[] | undefined {
  if (node.kind !== 'list') {
    problems.add(node.pos, path, `expected a list of "h1:…" and "zh:…" hashes, got ${describe(node)}`);
    return undefined;
  }
  const out: string[] = [];
  node.items.forEach((item, n) => {
    const text = item.kind === 'scalar' && typeof item.value === 'string' ? item.value.trim() : undefined;
    if (text !== undefined && (H1.test(text) || ZH.test(text))) out.push(text);
    // Refused, not skipped: a lock whose only hashes were skipped would load unchecked.
    else problems.add(item.pos, `${path}[${n}]`, `expected an "h1:" (base64 SHA-256) or "zh:" (hex SHA-256) hash, got ${describe(item)}`);
  });
  return out;
}

/**
 * Whether a package is one the lock vouches for: its zh (the archive's
 * sha256) or its h1 is listed. A lock holds h1 only for platforms Terraform
 * installed and zh for every platform of a registry release, so either one
 * suffices; no hashes at all means nothing to check.
 */
export function lockAccepts(hashes: readonly string[], pkg: { sha256: string; h1: readonly string[] }): boolean {
  if (hashes.length === 0) return true;
  if (hashes.includes(`zh:${pkg.sha256.toLowerCase()}`)) return true;
  return pkg.h1.some((h) => hashes.includes(h));
}
