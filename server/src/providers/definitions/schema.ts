/**
 * The definition schema, applied to the format-neutral tree: every rule and
 * message lives here once, whichever format the document was written in.
 */

import { InvalidInput } from '../../errors.js';
import { formatAddress, parseSourceAddress, type ProviderAddress } from '../address.js';
import { isExactVersion, parseConstraints } from '../constraints.js';
import { formatPlatform, parsePlatform, type Platform } from '../platform.js';
import { describe, type Located, type LocatedEntry } from './located.js';
import type { Problems } from './problems.js';
import type { Position, ProviderDefinition, VersionSelector } from './types.js';

export const MAX_LATEST = 100;

/** One provider (or module) as found in a document, before validation. */
export interface ProviderEntry {
  /** Prefix for messages: `providers[0]`, `modules[0]` (YAML/JSON) or `provider "hashicorp/aws"` (HCL). */
  path: string;
  node: Located;
  /** HCL gives the source as the block label rather than as a key. */
  label?: Located;
}

const KEYS_WITH_SOURCE = ['source', 'versions', 'latest', 'platforms'] as const;
const KEYS_IN_BLOCK = ['versions', 'latest', 'platforms'] as const;

/** Validates every entry, reporting all problems; returns definitions in entry order. */
export function readProviders(entries: readonly ProviderEntry[], problems: Problems): ProviderDefinition[] {
  return readEntries(entries, problems, 'provider', readProvider);
}

/**
 * Reads each entry with `read` and drops a source seen before, reporting where it was first defined: providers
 * and modules share this so a repeated entry reads the same whichever kind it is.
 */
export function readEntries<T extends { source: string }>(
  entries: readonly ProviderEntry[],
  problems: Problems,
  kind: string,
  read: (entry: ProviderEntry, problems: Problems) => T | undefined,
): T[] {
  const out: T[] = [];
  const seen = new Map<string, Position>();
  for (const entry of entries) {
    const def = read(entry, problems);
    if (!def) continue;
    const first = seen.get(def.source);
    if (first) {
      const at = sourceNode(entry)?.pos ?? entry.node.pos;
      problems.add(at, entry.path, `duplicate ${kind} ${def.source} (first defined at line ${first.line})`);
      continue;
    }
    seen.set(def.source, entry.node.pos);
    out.push(def);
  }
  return out;
}

function sourceNode(entry: ProviderEntry): Located | undefined {
  if (entry.label) return entry.label;
  return entry.node.kind === 'map' ? entry.node.entries.find((e) => e.key === 'source')?.value : undefined;
}

/** An entry's keys once checked against `allowed`, with a lookup that reports a missing required one. */
export interface EntryKeys {
  values: Map<string, LocatedEntry>;
  required(key: string): Located | undefined;
}

/**
 * Checks that an entry is a mapping of only `allowed` keys (the block form drops `source`, which is its label),
 * reporting each stranger; `explain` may give a key a better message than the list of allowed ones.
 */
export function entryKeys(
  entry: ProviderEntry,
  allowed: { withSource: readonly string[]; inBlock: readonly string[] },
  problems: Problems,
  explain: (key: string) => string | undefined = () => undefined,
): EntryKeys | undefined {
  const { node, path } = entry;
  const keys = entry.label ? allowed.inBlock : allowed.withSource;
  if (node.kind !== 'map') {
    problems.add(node.pos, path, `expected a mapping with keys ${keys.join(', ')}, got ${describe(node)}`);
    return undefined;
  }
  const values = new Map<string, LocatedEntry>();
  for (const e of node.entries) {
    if (keys.includes(e.key)) values.set(e.key, e);
    else problems.add(e.keyPos, `${path}.${e.key}`, explain(e.key) ?? `unknown key; allowed keys: ${keys.join(', ')}`);
  }
  const required = (key: string): Located | undefined => {
    const found = values.get(key)?.value;
    if (!found) problems.add(node.pos, path, `missing required key "${key}"`);
    return found;
  };
  return { values, required };
}

function readProvider(entry: ProviderEntry, problems: Problems): ProviderDefinition | undefined {
  const { node, path } = entry;
  const before = problems.count;
  const keys = entryKeys(entry, { withSource: KEYS_WITH_SOURCE, inBlock: KEYS_IN_BLOCK }, problems);
  if (!keys) return undefined;
  const { values, required } = keys;
  const sourceValue = entry.label ?? required('source');
  const address = sourceValue && readSource(sourceValue, entry.label ? path : `${path}.source`, problems);
  const versionsValue = required('versions');
  const versions = versionsValue && readVersions(versionsValue, `${path}.versions`, problems);
  const platformsValue = required('platforms');
  const platforms = platformsValue && readPlatforms(platformsValue, `${path}.platforms`, problems);
  const latestValue = values.get('latest')?.value;
  const latest = latestValue && readLatest(latestValue, `${path}.latest`, problems);
  if (problems.count > before || !address || !versions || !platforms) return undefined;
  const def: ProviderDefinition = { address, source: formatAddress(address), versions, platforms, position: node.pos };
  if (latest !== undefined) def.latest = latest;
  return def;
}

function readSource(node: Located, path: string, problems: Problems): ProviderAddress | undefined {
  const text = stringOf(node, path, problems, 'a provider source address "[hostname/]namespace/type"');
  if (text === undefined) return undefined;
  return attempt(node.pos, path, problems, () => parseSourceAddress(text));
}

export function readVersions(node: Located, path: string, problems: Problems): VersionSelector[] | undefined {
  const texts = stringList(node, path, problems, 'versions or version constraints');
  if (!texts) return undefined;
  const seen = new Map<string, Position>();
  const out: VersionSelector[] = [];
  texts.forEach(([text, item], n) => {
    const trimmed = text.trim();
    const selector = attempt(item.pos, `${path}[${n}]`, problems, () => selectorOf(trimmed));
    if (!selector) return;
    if (!unique(seen, trimmed, item.pos, `${path}[${n}]`, problems, `duplicate version "${trimmed}"`)) return;
    out.push(selector);
  });
  return out;
}

function selectorOf(text: string): VersionSelector {
  if (isExactVersion(text)) return { text, exact: text };
  return { text, constraint: parseConstraints(text) };
}

function readPlatforms(node: Located, path: string, problems: Problems): Platform[] | undefined {
  const texts = stringList(node, path, problems, 'platforms ("os_arch", e.g. "linux_amd64")');
  if (!texts) return undefined;
  const seen = new Map<string, Position>();
  const out: Platform[] = [];
  texts.forEach(([text, item], n) => {
    const platform = attempt(item.pos, `${path}[${n}]`, problems, () => parsePlatform(text));
    if (!platform) return;
    const name = formatPlatform(platform);
    if (unique(seen, name, item.pos, `${path}[${n}]`, problems, `duplicate platform ${name}`)) out.push(platform);
  });
  return out;
}

export function readLatest(node: Located, path: string, problems: Problems): number | undefined {
  if (node.kind === 'scalar' && node.value === null && node.expression === undefined) return undefined; // null = unset
  const ok = node.kind === 'scalar' && typeof node.value === 'number' && Number.isInteger(node.value);
  if (ok && (node.value as number) >= 1 && (node.value as number) <= MAX_LATEST) return node.value as number;
  problems.add(node.pos, path, `expected an integer from 1 to ${MAX_LATEST}, got ${describe(node)}`);
  return undefined;
}

/** A non-empty list of strings, each with its node (for positions), or undefined after reporting. */
function stringList(node: Located, path: string, problems: Problems, what: string): [string, Located][] | undefined {
  if (node.kind !== 'list') {
    problems.add(node.pos, path, `expected a list of ${what}, got ${describe(node)}`);
    return undefined;
  }
  if (node.items.length === 0) {
    problems.add(node.pos, path, `expected at least one of ${what}, got an empty list`);
    return undefined;
  }
  const out: [string, Located][] = [];
  node.items.forEach((item, n) => {
    const text = stringOf(item, `${path}[${n}]`, problems, 'a string');
    if (text !== undefined) out.push([text, item]);
  });
  return out.length === node.items.length ? out : undefined;
}

export function stringOf(node: Located, path: string, problems: Problems, expected: string): string | undefined {
  if (node.kind === 'scalar' && typeof node.value === 'string' && node.expression === undefined) return node.value;
  let hint = '';
  if (node.kind === 'scalar' && node.expression !== undefined) hint = '; write a literal, quoted string';
  else if (node.kind === 'scalar' && ['number', 'boolean'].includes(typeof node.value)) hint = '; quote it';
  problems.add(node.pos, path, `expected ${expected}, got ${describe(node)}${hint}`);
  return undefined;
}

/** Runs a domain parser, turning its InvalidInput into a positioned problem. */
export function attempt<T>(pos: Position, path: string, problems: Problems, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof InvalidInput)) throw err;
    problems.add(pos, path, err.message);
    return undefined;
  }
}

function unique(
  seen: Map<string, Position>,
  name: string,
  pos: Position,
  path: string,
  problems: Problems,
  message: string,
): boolean {
  const first = seen.get(name);
  if (first) {
    problems.add(pos, path, `${message} (first listed at line ${first.line})`);
    return false;
  }
  seen.set(name, pos);
  return true;
}
