/**
 * Parses definition documents (HCL, YAML or JSON; one schema) into typed
 * provider and module definitions: a document may hold either or both. All-or-nothing: a document with any problem yields no
 * definitions, and every problem is reported at once with file, line and
 * column in one InvalidInput. Bounds on untrusted input are LimitExceeded.
 */

import { LimitExceeded } from '../../errors.js';
import { detectFormat } from './detect.js';
import { moduleBlockSites, providerBlockSites, readHcl } from './hcl.js';
import { scanHcl } from './hcl-scan.js';
import { readJson } from './json.js';
import { isLockFile, parseLockFile } from './lock.js';
import { describe, positionFinder, type Located } from './located.js';
import { readModules } from './module-schema.js';
import { Problems } from './problems.js';
import { readProviders, type ProviderEntry } from './schema.js';
import type { DefinitionFormat, Definitions, Position } from './types.js';
import { readYaml } from './yaml.js';
import type { Platform } from '../platform.js';

export { detectFormat } from './detect.js';
export { selectVersions } from './select.js';
export { isLockFile, lockAccepts, LOCK_FILE_NAME } from './lock.js';
export type { DefinitionFormat, Definitions, ModuleDefinition, Position, ProviderDefinition, VersionSelector } from './types.js';

export const MAX_DEFINITIONS_BYTES = 1024 * 1024;
export const MAX_PROVIDERS = 1000;
export const MAX_MODULES = 1000;
/** Far beyond the schema's depth of four; deeper input only serves to exhaust parsers (yaml crashes on it). */
export const MAX_NESTING = 64;
/**
 * Line breaks, commas, opening brackets and YAML "- " indicators in one
 * document: each can start a node, so their count bounds the parsers' work. 1,000 providers written out
 * one value per line stay near 25,000; past this bound a 1 MiB document cost
 * the yaml package about 560 MB and hcl2json over a minute of CPU.
 */
export const MAX_ITEMS = 50_000;

export interface ParseDefinitionsOptions {
  format: DefinitionFormat | 'auto';
  /** Named in every message; defaults to "<definitions>". */
  file?: string;
  /** For a lock file (detected by name or content), which names none: the platforms to mirror. */
  platforms?: Platform[];
}

/** Documents entries before validation, by what they define. */
interface Entries {
  providers: ProviderEntry[];
  modules: ProviderEntry[];
}

export async function parseDefinitions(input: string, opts: ParseDefinitionsOptions): Promise<Definitions> {
  const file = opts.file ?? '<definitions>';
  // Editors on Windows save a byte-order mark; JSON and HCL parsers would choke on it.
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_DEFINITIONS_BYTES) {
    throw new LimitExceeded(`${file}: definitions are ${bytes} bytes, more than the limit of ${MAX_DEFINITIONS_BYTES}`);
  }
  const problems = new Problems(file);
  checkNesting(text, problems);
  problems.throwIfAny();
  enforceItemCount(file, text);
  const format = opts.format === 'auto' ? detectFormat(text, undefined, opts.file) : opts.format;
  if (format === 'hcl' && isLockFile(text, opts.file)) {
    const sites = scanHcl(text);
    enforceCounts(file, providerBlockSites(sites).map((b) => b.pos), []);
    return { providers: await parseLockFile(text, { file, platforms: opts.platforms ?? [] }), modules: [] };
  }
  const read = format === 'hcl' ? await hclEntries(text, file, problems) : documentEntries(format, text, problems);
  const entries = read ?? { providers: [], modules: [] };
  enforceCounts(file, entries.providers.map((e) => e.node.pos), entries.modules.map((e) => e.node.pos));
  // Entries are checked even after document-level problems, so one round reports everything.
  const providers = readProviders(entries.providers, problems);
  const modules = readModules(entries.modules, problems);
  problems.throwIfAny();
  return { providers, modules };
}

/** hcl2json needs about 6 s of CPU for 1 MiB, so the block counts are checked on the quick scan first. */
async function hclEntries(text: string, file: string, problems: Problems): Promise<Entries | undefined> {
  const sites = scanHcl(text);
  enforceCounts(file, providerBlockSites(sites).map((b) => b.pos), moduleBlockSites(sites).map((b) => b.pos));
  return readHcl(text, sites, problems);
}

function enforceCounts(file: string, providers: readonly Position[], modules: readonly Position[]): void {
  const extra = providers[MAX_PROVIDERS];
  if (extra) throw new LimitExceeded(`${file}:${extra.line}: more than ${MAX_PROVIDERS} providers in one document`);
  const extraModule = modules[MAX_MODULES];
  if (extraModule) throw new LimitExceeded(`${file}:${extraModule.line}: more than ${MAX_MODULES} modules in one document`);
}

const LISTS = ['providers', 'modules'] as const;

/**
 * YAML and JSON share the shape `{providers: [{source, versions, latest?, platforms}, ...],
 * modules: [{source, versions, latest?}, ...]}`; either list may be left out, not both.
 */
function documentEntries(format: 'yaml' | 'json', text: string, problems: Problems): Entries | undefined {
  const root = format === 'json' ? readJson(text, problems) : readYaml(text, problems);
  if (root === null) return { providers: [], modules: [] }; // an empty YAML document defines nothing
  if (root === undefined) return undefined;
  if (root.kind !== 'map') {
    problems.add(root.pos, undefined, `expected a mapping with the key "providers" or "modules", got ${describe(root)}`);
    return undefined;
  }
  const lists = new Map<(typeof LISTS)[number], Located>();
  for (const e of root.entries) {
    const key = LISTS.find((k) => k === e.key);
    if (key) lists.set(key, e.value);
    else problems.add(e.keyPos, e.key, `unknown key; allowed keys: ${LISTS.join(', ')}`);
  }
  if (lists.size === 0) {
    problems.add(root.pos, undefined, 'missing required key "providers" (or "modules")');
    return undefined;
  }
  const entries: Entries = { providers: [], modules: [] };
  for (const [key, list] of lists) {
    if (list.kind !== 'list') {
      problems.add(list.pos, key, `expected a list of ${key}, got ${describe(list)}`);
      continue;
    }
    entries[key] = list.items.map((node, n) => ({ path: `${key}[${n}]`, node }));
  }
  return entries;
}

function enforceItemCount(file: string, text: string): void {
  let items = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // "\n", ",", "[", "{", and "-" followed by a space ("- - - a" nests without brackets).
    if (c === 0x0a || c === 0x2c || c === 0x5b || c === 0x7b || (c === 0x2d && text.charCodeAt(i + 1) === 0x20)) items++;
    if (items > MAX_ITEMS) {
      const { line } = positionFinder(text)(i);
      throw new LimitExceeded(`${file}:${line}: more than ${MAX_ITEMS} line breaks, commas, brackets and "- " items in one document`);
    }
  }
}

/**
 * Refuses bracket nesting beyond MAX_NESTING before any parser runs. Counting
 * ignores quoting, so unbalanced brackets inside strings count too; real
 * definitions never come near the bound.
 */
function checkNesting(text: string, problems: Problems): void {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) depth++;
    else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
    if (depth > MAX_NESTING) {
      problems.add(positionFinder(text)(i), undefined, `brackets nested more than ${MAX_NESTING} levels deep`);
      return;
    }
  }
}
