/**
 * The module half of the definition schema: `module "host/ns/name/system" {
 * versions, latest }` blocks and `modules: [{source, versions, latest}]`
 * lists. Versions and latest follow the provider rules (and messages) exactly;
 * a module has no platforms.
 */

import { formatModuleAddress, parseModuleAddress } from '../../modules/address.js';
import type { ModuleAddress } from '../../modules/ports.js';
import { describe, type Located, type LocatedEntry } from './located.js';
import type { Problems } from './problems.js';
import { attempt, readLatest, readVersions, stringOf, type ProviderEntry } from './schema.js';
import type { ModuleDefinition, Position } from './types.js';

export type ModuleEntry = ProviderEntry;

const KEYS_WITH_SOURCE = ['source', 'versions', 'latest'] as const;
const KEYS_IN_BLOCK = ['versions', 'latest'] as const;

/** Validates every entry, reporting all problems; returns definitions in entry order. */
export function readModules(entries: readonly ModuleEntry[], problems: Problems): ModuleDefinition[] {
  const out: ModuleDefinition[] = [];
  const seen = new Map<string, Position>();
  for (const entry of entries) {
    const def = readModule(entry, problems);
    if (!def) continue;
    const first = seen.get(def.source);
    if (first) {
      const at = sourceNode(entry)?.pos ?? entry.node.pos;
      problems.add(at, entry.path, `duplicate module ${def.source} (first defined at line ${first.line})`);
      continue;
    }
    seen.set(def.source, entry.node.pos);
    out.push(def);
  }
  return out;
}

function sourceNode(entry: ModuleEntry): Located | undefined {
  if (entry.label) return entry.label;
  return entry.node.kind === 'map' ? entry.node.entries.find((e) => e.key === 'source')?.value : undefined;
}

function readModule(entry: ModuleEntry, problems: Problems): ModuleDefinition | undefined {
  const { node, path } = entry;
  const allowed = entry.label ? KEYS_IN_BLOCK : KEYS_WITH_SOURCE;
  if (node.kind !== 'map') {
    problems.add(node.pos, path, `expected a mapping with keys ${allowed.join(', ')}, got ${describe(node)}`);
    return undefined;
  }
  const before = problems.count;
  const values = new Map<string, LocatedEntry>();
  for (const e of node.entries) {
    if ((allowed as readonly string[]).includes(e.key)) values.set(e.key, e);
    // A Terraform configuration's `module "vpc" { source = … }` is the usual mix-up: say what this file wants.
    else if (entry.label && e.key === 'source') problems.add(e.keyPos, `${path}.${e.key}`, `unknown key; the block label is the module's source address, e.g. module "terraform-aws-modules/vpc/aws" { versions = [...] }`);
    else problems.add(e.keyPos, `${path}.${e.key}`, `unknown key; allowed keys: ${allowed.join(', ')}`);
  }
  const sourceValue = entry.label ?? values.get('source')?.value;
  if (!sourceValue) problems.add(node.pos, path, 'missing required key "source"');
  const address = sourceValue && readSource(sourceValue, entry.label ? path : `${path}.source`, problems);
  const versionsValue = values.get('versions')?.value;
  if (!versionsValue) problems.add(node.pos, path, 'missing required key "versions"');
  const versions = versionsValue && readVersions(versionsValue, `${path}.versions`, problems);
  const latestValue = values.get('latest')?.value;
  const latest = latestValue && readLatest(latestValue, `${path}.latest`, problems);
  if (problems.count > before || !address || !versions) return undefined;
  const def: ModuleDefinition = { address, source: formatModuleAddress(address), versions, position: node.pos };
  if (latest !== undefined) def.latest = latest;
  return def;
}

function readSource(node: Located, path: string, problems: Problems): ModuleAddress | undefined {
  const text = stringOf(node, path, problems, 'a module source address "[hostname/]namespace/name/system"');
  if (text === undefined) return undefined;
  return attempt(node.pos, path, problems, () => parseModuleAddress(text));
}
