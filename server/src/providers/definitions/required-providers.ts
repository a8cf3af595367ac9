/**
 * A Terraform configuration's `terraform { required_providers { … } }` read
 * as provider definitions, so `tfmirror load DIR` warms the mirror for the
 * root module in DIR. Each entry becomes one definition of its constraint
 * (the newest matching version: what `terraform init` would pick), for the
 * platforms the caller names. Constraints on one source from several files
 * or blocks are combined with AND, as Terraform does.
 */

import { formatAddress, parseSourceAddress, type ProviderAddress } from '../address.js';
import { parseConstraints } from '../constraints.js';
import type { Platform } from '../platform.js';
import { HclSyntaxError, parseHcl } from '../../hcl/parse.js';
import { Problems } from './problems.js';
import type { Position, ProviderDefinition } from './types.js';

export interface ConfigurationFile {
  /** As named in messages (the path the user gave, joined with the file name). */
  name: string;
  text: string;
}

/** Terraform's own provider ("terraform.io/builtin/terraform") is built into the CLI, never installed. */
const BUILTIN_HOSTNAME = 'terraform.io';
const ANY_VERSION = '>= 0.0.0';

interface Requirement {
  address: ProviderAddress;
  constraints: string[];
  pos: Position;
}

/** Sees every parsed document of the configuration too (the module calls), reporting into that file's problems. */
export type DocumentVisitor = (doc: Record<string, unknown>, file: ConfigurationFile, problems: Problems) => void;

/** `*.tf` (HCL) and `*.tf.json` files of one module; all-or-nothing, problems with file and line. */
export async function parseRequiredProviders(
  files: readonly ConfigurationFile[],
  platforms: readonly Platform[],
  dirName: string,
  visit?: DocumentVisitor,
): Promise<ProviderDefinition[]> {
  const problems = new Problems(dirName);
  if (platforms.length === 0) {
    problems.add({ line: 1 }, undefined, 'a Terraform configuration names no platforms to mirror: add --platform linux_amd64 (repeatable)');
    problems.throwIfAny();
  }
  const bySource = new Map<string, Requirement>();
  for (const file of files) {
    const fileProblems = new Problems(file.name);
    const doc = await readDocument(file, fileProblems);
    if (doc) collect(doc, file, fileProblems, bySource);
    if (doc) visit?.(doc, file, fileProblems);
    fileProblems.throwIfAny();
  }
  const out: ProviderDefinition[] = [];
  for (const [source, req] of bySource) {
    const text = req.constraints.length > 0 ? req.constraints.join(', ') : ANY_VERSION;
    out.push({
      address: req.address,
      source,
      versions: [{ text, constraint: parseConstraints(text) }],
      latest: 1,
      platforms: [...platforms],
      position: req.pos,
    });
  }
  return out;
}

/** A configuration file as plain JSON (HCL through hcl2json), or undefined after reporting why not. */
export /** A configuration file as plain JSON (HCL through hcl2json), or undefined after reporting why not. */
async function readDocument(file: ConfigurationFile, problems: Problems): Promise<Record<string, unknown> | undefined> {
  if (file.name.endsWith('.json')) {
    try {
      const v = JSON.parse(file.text) as unknown;
      if (isRecord(v)) return v;
      problems.add({ line: 1 }, undefined, 'expected a JSON object (Terraform JSON configuration syntax)');
    } catch (err) {
      problems.add({ line: 1 }, undefined, `invalid JSON: ${(err as Error).message}`);
    }
    return undefined;
  }
  try {
    return await parseHcl(file.text);
  } catch (err) {
    if (!(err instanceof HclSyntaxError)) throw err;
    for (const d of err.diagnostics) problems.add({ line: d.line, column: d.column }, undefined, `HCL syntax error: ${d.message}`);
    if (err.diagnostics.length === 0) problems.add({ line: 1 }, undefined, `cannot parse HCL: ${err.raw}`);
    return undefined;
  }
}

/** hcl2json shapes blocks as lists of bodies; Terraform JSON may write a single block as an object. */
export function bodies(v: unknown): Record<string, unknown>[] {
  const list = Array.isArray(v) ? v : [v];
  return list.filter(isRecord);
}

function collect(doc: Record<string, unknown>, file: ConfigurationFile, problems: Problems, bySource: Map<string, Requirement>): void {
  for (const terraform of bodies(doc['terraform'])) {
    for (const block of bodies(terraform['required_providers'])) {
      for (const [name, value] of Object.entries(block)) {
        const pos = { line: lineOf(file.text, name) };
        const req = readRequirement(name, value, pos, problems);
        if (!req || req.address.hostname === BUILTIN_HOSTNAME) continue;
        const source = formatAddress(req.address);
        const known = bySource.get(source);
        if (known) known.constraints.push(...req.constraints);
        else bySource.set(source, req);
      }
    }
  }
}

function readRequirement(name: string, value: unknown, pos: Position, problems: Problems): Requirement | undefined {
  const key = `required_providers.${name}`;
  // The legacy form `aws = "~> 5.0"` is a version constraint on hashicorp/<name>.
  const entry = typeof value === 'string' ? { version: value } : isRecord(value) ? value : undefined;
  if (!entry) {
    problems.add(pos, key, 'expected { source = "namespace/type", version = "constraint" }');
    return undefined;
  }
  const source = typeof entry['source'] === 'string' ? entry['source'] : `hashicorp/${name}`;
  let address: ProviderAddress;
  try {
    address = parseSourceAddress(source);
  } catch (err) {
    problems.add(pos, `${key}.source`, (err as Error).message);
    return undefined;
  }
  const version = entry['version'];
  if (version === undefined) return { address, constraints: [], pos };
  if (typeof version !== 'string' || version.includes('${')) {
    problems.add(pos, `${key}.version`, 'expected a version constraint string, e.g. "~> 5.0"');
    return undefined;
  }
  try {
    parseConstraints(version);
  } catch (err) {
    problems.add(pos, `${key}.version`, (err as Error).message);
    return undefined;
  }
  return { address, constraints: [version.trim()], pos };
}

/** Best effort: the first line assigning `name`; the document's first line when not found. */
function lineOf(text: string, name: string): number {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^[ \\t]*"?${escaped}"?[ \\t]*[=:]`, 'm').exec(text);
  return m ? text.slice(0, m.index).split('\n').length : 1;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
