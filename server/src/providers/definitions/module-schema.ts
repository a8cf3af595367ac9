/**
 * The module half of the definition schema: `module "host/ns/name/system" {
 * versions, latest }` blocks and `modules: [{source, versions, latest}]`
 * lists. Versions and latest follow the provider rules (and messages) exactly;
 * a module has no platforms.
 */

import { formatModuleAddress, parseModuleAddress } from '../../modules/address.js';
import type { ModuleAddress } from '../../modules/ports.js';
import type { Located } from './located.js';
import type { Problems } from './problems.js';
import { attempt, entryKeys, readEntries, readLatest, readVersions, stringOf, type ProviderEntry } from './schema.js';
import type { ModuleDefinition } from './types.js';

export type ModuleEntry = ProviderEntry;

const KEYS_WITH_SOURCE = ['source', 'versions', 'latest'] as const;
const KEYS_IN_BLOCK = ['versions', 'latest'] as const;

/** Validates every entry, reporting all problems; returns definitions in entry order. */
export function readModules(entries: readonly ModuleEntry[], problems: Problems): ModuleDefinition[] {
  return readEntries(entries, problems, 'module', readModule);
}

function readModule(entry: ModuleEntry, problems: Problems): ModuleDefinition | undefined {
  const { node, path } = entry;
  const before = problems.count;
  // A Terraform configuration's `module "vpc" { source = … }` is the usual mix-up: say what this file wants.
  const explain = (key: string): string | undefined =>
    entry.label && key === 'source'
      ? `unknown key; the block label is the module's source address, e.g. module "terraform-aws-modules/vpc/aws" { versions = [...] }`
      : undefined;
  const keys = entryKeys(entry, { withSource: KEYS_WITH_SOURCE, inBlock: KEYS_IN_BLOCK }, problems, explain);
  if (!keys) return undefined;
  const { values, required } = keys;
  const sourceValue = entry.label ?? required('source');
  const address = sourceValue && readSource(sourceValue, entry.label ? path : `${path}.source`, problems);
  const versionsValue = required('versions');
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
