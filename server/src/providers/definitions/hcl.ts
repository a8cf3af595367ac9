/**
 * HCL documents → provider and module entries. hcl2json (a WebAssembly build
 * of the real HCL parser) decides syntax; it shapes `provider "<source>" { ... }`
 * as `{provider: {"<source>": [body, ...]}}` with one body per block carrying
 * that label (`module` blocks alike), and renders non-literal expressions as
 * "${...}" strings. Positions come from hcl-scan: block lines always, columns
 * where found.
 */

import { HclSyntaxError, parseHcl } from '../../hcl/parse.js';
import type { BlockSite, HclSites } from './hcl-scan.js';
import type { Located, LocatedEntry } from './located.js';
import type { Problems } from './problems.js';
import type { ProviderEntry } from './schema.js';
import type { Position } from './types.js';

type BlockType = 'provider' | 'module';
const BLOCKS: readonly BlockType[] = ['provider', 'module'];
const EXAMPLES: Record<BlockType, string> = {
  provider: 'provider "hashicorp/aws" { versions = [...], platforms = [...] }',
  module: 'module "terraform-aws-modules/vpc/aws" { versions = [...] }',
};
const START: Position = { line: 1, column: 1 };

/** Where the provider blocks are, found without the (slow) real parser: for early limits. */
export function providerBlockSites(sites: HclSites): BlockSite[] {
  return sites.blocks.filter((b) => b.type === 'provider');
}

/** Where the module blocks are, likewise. */
export function moduleBlockSites(sites: HclSites): BlockSite[] {
  return sites.blocks.filter((b) => b.type === 'module');
}

export interface HclEntries {
  providers: ProviderEntry[];
  modules: ProviderEntry[];
}

/** Provider and module entries, each in source order, or undefined after reporting syntax errors. */
export async function readHcl(text: string, sites: HclSites, problems: Problems): Promise<HclEntries | undefined> {
  let doc: Record<string, unknown>;
  try {
    doc = await parseHcl(text);
  } catch (err) {
    if (!(err instanceof HclSyntaxError)) throw err;
    reportSyntax(err, sites, problems);
    return undefined;
  }
  const entries: HclEntries = { providers: [], modules: [] };
  for (const [name, value] of Object.entries(doc)) {
    const pos = sites.topLevel.get(name) ?? START;
    const type = BLOCKS.find((b) => b === name);
    if (!type) problems.add(pos, name, `unknown block or attribute; only ${EXAMPLES.provider} and ${EXAMPLES.module} blocks are allowed`);
    else if (!isRecord(value) || Array.isArray(value)) problems.add(pos, name, labelError(type));
    else entries[type === 'provider' ? 'providers' : 'modules'].push(...blockEntries(type, value, sites, problems));
  }
  const order = (e: ProviderEntry): number => e.node.pos.line * 1e6 + (e.node.pos.column ?? 0);
  entries.providers.sort((a, b) => order(a) - order(b));
  entries.modules.sort((a, b) => order(a) - order(b));
  return entries;
}

function blockEntries(type: BlockType, byLabel: Record<string, unknown>, sites: HclSites, problems: Problems): ProviderEntry[] {
  const out: ProviderEntry[] = [];
  for (const [label, bodies] of Object.entries(byLabel)) {
    const blocks = sites.blocks.filter((b) => b.type === type && b.labels[0] === label);
    const path = `${type} ${JSON.stringify(label)}`;
    if (!Array.isArray(bodies)) {
      problems.add(blocks[0]?.pos ?? sites.topLevel.get(type) ?? START, path, labelError(type));
      continue;
    }
    bodies.forEach((body, n) => {
      const site = blocks.filter((b) => b.labels.length === 1)[n];
      const pos = site?.pos ?? blocks[0]?.pos ?? START;
      const labelPos = site?.labelPos ?? pos;
      const node = isRecord(body) ? bodyNode(body, site, pos) : located(body, pos);
      out.push({ path, node, label: { kind: 'scalar', pos: labelPos, value: label } });
    });
  }
  return out;
}

function bodyNode(body: Record<string, unknown>, site: BlockSite | undefined, pos: Position): Located {
  const entries: LocatedEntry[] = Object.entries(body).map(([key, value]) => {
    const attr = site?.attributes.get(key);
    return { key, keyPos: attr?.pos ?? pos, value: located(value, attr?.valuePos ?? pos, attr?.elements) };
  });
  return { kind: 'map', pos, entries };
}

/** Wraps a plain hcl2json value; list elements get their own positions when the scanner found them. */
function located(value: unknown, pos: Position, elements: Position[] = []): Located {
  if (Array.isArray(value)) {
    return { kind: 'list', pos, items: value.map((v, n) => located(v, elements[n] ?? pos)) };
  }
  if (isRecord(value)) {
    const entries = Object.entries(value).map(([key, v]) => ({ key, keyPos: pos, value: located(v, pos) }));
    return { kind: 'map', pos, entries };
  }
  if (typeof value === 'string' && value.includes('${')) {
    const whole = /^\$\{([^]*)\}$/.exec(value);
    return { kind: 'scalar', pos, value, expression: whole ? whole[1]! : JSON.stringify(value) };
  }
  const scalar = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : null;
  return { kind: 'scalar', pos, value: scalar };
}

function labelError(type: BlockType): string {
  return `a ${type} block takes exactly one label, its source address: ${EXAMPLES[type]}`;
}

/**
 * hcl2json's structural errors ("cannot have blocks with and without labels",
 * "Unable to convert Block to JSON") carry no position; those come from
 * provider or module blocks with other than one label, which the scan can find.
 */
function reportSyntax(err: HclSyntaxError, sites: HclSites, problems: Problems): void {
  for (const d of err.diagnostics) problems.add({ line: d.line, column: d.column }, undefined, `HCL syntax error: ${d.message}`);
  if (err.diagnostics.length > 0) return;
  const misLabeled = sites.blocks.filter((b) => BLOCKS.includes(b.type as BlockType) && b.labels.length !== 1);
  for (const b of misLabeled) problems.add(b.pos, b.type, labelError(b.type as BlockType));
  if (misLabeled.length === 0) problems.add(START, undefined, `cannot parse HCL: ${err.raw}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
