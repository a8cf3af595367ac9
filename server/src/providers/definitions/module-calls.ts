/**
 * A Terraform configuration's registry module calls (`module "vpc" { source
 * = "terraform-aws-modules/vpc/aws", version = "~> 5.0" }`) read as module
 * definitions, so `tfmirror load DIR` warms the mirror with the modules
 * `terraform init` in DIR would install, beside its required_providers. Each
 * call's constraint resolves to its newest match, as init picks it; calls of
 * one source with different constraints keep one version each. Local paths
 * and direct sources (git::, https://, github.com/…) are not registry modules
 * and are left out; nested calls inside the fetched modules are not seen.
 */

import { formatModuleAddress, parseModuleAddress } from '../../modules/address.js';
import type { ModuleAddress } from '../../modules/ports.js';
import { parseConstraints } from '../constraints.js';
import type { Platform } from '../platform.js';
import type { Problems } from './problems.js';
import { bodies, parseRequiredProviders, type ConfigurationFile } from './required-providers.js';
import type { Definitions, ModuleDefinition, Position } from './types.js';

const ANY_VERSION = '>= 0.0.0';

/** required_providers and registry module calls of one root module; all-or-nothing, problems with file and line. */
export async function parseConfiguration(files: readonly ConfigurationFile[], platforms: readonly Platform[], dirName: string): Promise<Definitions> {
  const calls = new Map<string, { address: ModuleAddress; constraints: Set<string>; pos: Position }>();
  const providers = await parseRequiredProviders(files, platforms, dirName, (doc, file, problems) => {
    for (const block of bodies(doc['module'])) {
      for (const [name, value] of Object.entries(block)) {
        for (const body of bodies(value)) {
          const call = readCall(name, body, file, problems);
          if (!call) continue;
          const source = formatModuleAddress(call.address);
          const known = calls.get(source) ?? { address: call.address, constraints: new Set<string>(), pos: call.pos };
          known.constraints.add(call.constraint);
          calls.set(source, known);
        }
      }
    }
  });
  const modules: ModuleDefinition[] = [...calls].map(([source, c]) => ({
    address: c.address,
    source,
    versions: [...c.constraints].map((text) => ({ text, constraint: parseConstraints(text) })),
    latest: 1,
    position: c.pos,
  }));
  return { providers, modules };
}

function readCall(name: string, body: Record<string, unknown>, file: ConfigurationFile, problems: Problems): { address: ModuleAddress; constraint: string; pos: Position } | undefined {
  const source = body['source'];
  if (typeof source !== 'string') return undefined; // Terraform itself reports a call without a literal source
  const address = registryAddress(source);
  if (!address) return undefined;
  const pos = { line: lineOfCall(file.text, name) };
  const version = body['version'];
  if (version === undefined) return { address, constraint: ANY_VERSION, pos };
  const key = `module.${name}.version`;
  if (typeof version !== 'string' || version.includes('${')) {
    problems.add(pos, key, 'expected a version constraint string, e.g. "~> 5.0"');
    return undefined;
  }
  try {
    parseConstraints(version);
  } catch (err) {
    problems.add(pos, key, (err as Error).message);
    return undefined;
  }
  return { address, constraint: version.trim(), pos };
}

/**
 * The registry address of a module source, or undefined for every other kind
 * of source, as Terraform tells them apart: local paths start with ./ or ../,
 * go-getter sources carry a scheme or a forced getter; what is left must parse
 * as [hostname/]namespace/name/system (an optional //subdir is not part of it).
 */
function registryAddress(source: string): ModuleAddress | undefined {
  if (/^\.\.?[/\\]/.test(source) || source.includes('::') || source.includes('://') || source.includes('@')) return undefined;
  try {
    return parseModuleAddress(source.split('//')[0]!);
  } catch {
    return undefined; // github.com/owner/repo and other shorthands: fetched directly, not through a registry
  }
}

/** Best effort: the line of the first `module "name"` header; the document's first line when not found. */
function lineOfCall(text: string, name: string): number {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^[ \\t]*(?:module[ \\t]+"${escaped}"|"${escaped}"[ \\t]*:)`, 'm').exec(text);
  return m ? text.slice(0, m.index).split('\n').length : 1;
}

