/**
 * The file layer: parse HCL with hcl2json, then walk its JSON against the key
 * table. hcl2json shapes blocks as arrays of bodies (`server {}` →
 * `{server: [{...}]}`), labeled blocks as objects keyed by label
 * (`upstream "h" {}` → `{upstream: {h: [{...}]}}`), and unevaluable
 * expressions as "${...}" strings; everything else is plain JSON.
 */
import path from 'node:path';
import { InvalidInput } from '../errors.js';
import { HclSyntaxError, parseHcl as parseHclText } from '../hcl/parse.js';
import { blockSegment, locateKeys, type Locations } from './locate.js';
import { didYouMean, type Origin, type Problems, type Setting } from './problems.js';
import { BLOCK_NAMES, KEY_BY_PATH, UPSTREAM_BLOCK, envName, keysOfBlock, topLevelNames } from './schema.js';
import { describe, fromHcl, isPlainObject } from './values.js';

export interface FileLayer {
  settings: Map<string, Setting>;
  /** Lowercase hostname → its `url` (a raw string, validated by the builder; "" when omitted) and its other keys. */
  upstreams: Map<string, UpstreamSetting>;
}

/** An upstream block: the `url` setting, with the block's other keys when they are set (raw, checked by the builder). */
export interface UpstreamSetting extends Setting {
  providersUrl?: Setting;
  modulesUrl?: Setting;
  networkMirror?: Setting;
  allowUnsigned?: Setting;
}

/** Keys of an `upstream "H" {}` block besides url, by their HCL name. */
const UPSTREAM_OPTIONS = { providers_url: 'providersUrl', modules_url: 'modulesUrl', network_mirror: 'networkMirror', allow_unsigned: 'allowUnsigned' } as const;
const UPSTREAM_KEYS = ['url', ...Object.keys(UPSTREAM_OPTIONS)];

/** Parses HCL text; syntax errors become one InvalidInput naming `file`, positioned at the first diagnostic. */
export async function parseHcl(file: string, text: string): Promise<Record<string, unknown>> {
  try {
    return await parseHclText(text);
  } catch (err) {
    throw err instanceof HclSyntaxError ? syntaxError(file, err) : err;
  }
}

/** One line per diagnostic, "file:line:column: Summary: Detail". */
function syntaxError(file: string, err: HclSyntaxError): InvalidInput {
  const first = err.diagnostics[0];
  if (!first) return new InvalidInput(`${file}: cannot parse: ${err.raw}`, { file });
  const lines = err.diagnostics.map((d) => `${file}:${d.line}:${d.column}: ${d.message}`);
  return new InvalidInput(lines.join('\n'), { file, line: first.line, column: first.column });
}

/** Walks the parsed document; every problem is collected, good keys still land in the layer. */
export function readFileLayer(doc: Record<string, unknown>, file: string, text: string, problems: Problems): FileLayer {
  const w = new Walker(file, locateKeys(text), problems);
  for (const [name, raw] of Object.entries(doc)) {
    if (raw === null) continue; // `x = null` in HCL means "not set"
    if (name === UPSTREAM_BLOCK) w.upstreamBlocks(raw);
    else if (isTopLevelAttr(name)) w.attribute(name, raw);
    else if (BLOCK_NAMES.includes(name)) w.block(name, raw);
    else w.unknown(name, topLevelNames());
  }
  return { settings: w.settings, upstreams: w.upstreams };
}

function isTopLevelAttr(name: string): boolean {
  const spec = KEY_BY_PATH.get(name);
  return spec !== undefined && !spec.envOnly && !name.includes('.');
}

class Walker {
  readonly settings = new Map<string, Setting>();
  readonly upstreams = new Map<string, UpstreamSetting>();
  private readonly dir: string;

  constructor(
    private readonly file: string,
    private readonly locations: Locations,
    private readonly problems: Problems,
  ) {
    this.dir = path.dirname(file);
  }

  /** Origin of `key`, with a position only when the key appears exactly once (or `nth` is asked for). */
  origin(key: string, nth?: number): Origin {
    const found = this.locations.get(key) ?? [];
    const pos = nth !== undefined ? found[nth] : found.length === 1 ? found[0] : undefined;
    return { source: 'file', file: this.file, dir: this.dir, ...pos };
  }

  attribute(key: string, raw: unknown): void {
    if (raw === null) return;
    const spec = KEY_BY_PATH.get(key)!;
    const origin = this.origin(key);
    if (hasExpression(raw)) {
      this.problems.at(origin, key, expressionError(raw));
      return;
    }
    const c = fromHcl(spec.kind, raw);
    if (c.ok) this.settings.set(key, { key, value: c.value, origin });
    else this.problems.at(origin, key, c.error);
  }

  /** `name { ... }`: exactly one, unlabeled. */
  block(name: string, raw: unknown): void {
    const body = this.singleBody(name, raw, `expected a block \`${name} { ... }\` without labels, got ${describe(raw)}`);
    if (!body) return;
    const allowed = keysOfBlock(name);
    for (const [key, value] of Object.entries(body)) {
      const full = `${name}.${key}`;
      if (allowed.includes(key)) this.attribute(full, value);
      else if (KEY_BY_PATH.get(full)?.envOnly) this.envOnly(full);
      else this.unknown(full, allowed.map((k) => `${name}.${k}`));
    }
  }

  /** `upstream "<hostname>" { url = "..." }`, any number with distinct hostnames. */
  upstreamBlocks(raw: unknown): void {
    if (!isPlainObject(raw)) {
      const example = 'upstream "registry.terraform.io" { url = "https://registry.terraform.io/" }';
      this.problems.at(this.origin(UPSTREAM_BLOCK), UPSTREAM_BLOCK, `needs a hostname label, e.g. ${example}`);
      return;
    }
    for (const [label, bodies] of Object.entries(raw)) {
      const key = blockSegment(UPSTREAM_BLOCK, [label]);
      const body = this.singleBody(key, bodies, 'takes exactly one label, the hostname');
      if (body) this.upstream(label, key, body);
    }
  }

  private upstream(label: string, key: string, body: Record<string, unknown>): void {
    const host = label.toLowerCase();
    const origin = this.origin(key);
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/.test(host)) {
      this.problems.at(origin, key, `label must be a hostname (optionally with :port), got ${JSON.stringify(label)}`);
      return;
    }
    if (this.upstreams.has(host)) {
      this.problems.at(origin, key, `hostname ${host} is configured more than once`);
      return;
    }
    for (const k of Object.keys(body)) if (!UPSTREAM_KEYS.includes(k)) this.unknown(`${key}.${k}`, UPSTREAM_KEYS.map((u) => `${key}.${u}`));
    const url = this.upstreamValue(key, 'url', body['url'] ?? '', 'string');
    if (url === undefined) return;
    const upstream: UpstreamSetting = { ...url, origin: body['url'] === undefined ? origin : url.origin };
    for (const [name, field] of Object.entries(UPSTREAM_OPTIONS)) {
      if (body[name] === undefined || body[name] === null) continue;
      const setting = this.upstreamValue(key, name, body[name], name === 'allow_unsigned' ? 'boolean' : 'string');
      if (setting === undefined) return;
      upstream[field] = setting;
    }
    this.upstreams.set(host, upstream);
  }

  /** One key of an upstream block as a Setting of the expected literal type, or undefined after reporting why not. */
  private upstreamValue(block: string, name: string, raw: unknown, type: 'string' | 'boolean'): Setting | undefined {
    const key = `${block}.${name}`;
    const origin = this.origin(key);
    if (typeof raw === type && !hasExpression(raw)) return { key, value: raw as string | boolean, origin };
    const why = typeof raw === 'string' && hasExpression(raw) ? expressionError(raw) : `expected a ${type === 'boolean' ? 'bool' : type}, got ${describe(raw)}`;
    this.problems.at(origin, key, why);
    return undefined;
  }

  /** The one body of a block, or undefined after reporting why not. */
  private singleBody(key: string, raw: unknown, shapeError: string): Record<string, unknown> | undefined {
    if (!Array.isArray(raw) || !raw.every(isPlainObject)) {
      this.problems.at(this.origin(key), key, shapeError);
      return undefined;
    }
    if (raw.length > 1) {
      // Point at the second occurrence: that is the one to delete or merge.
      this.problems.at(this.origin(key, 1), key, `block is defined ${raw.length} times; write it once`);
      return undefined;
    }
    return raw[0];
  }

  private envOnly(key: string): void {
    this.problems.at(this.origin(key), key, `can only be set through the environment, as ${envName(key)}`);
  }

  unknown(key: string, candidates: readonly string[]): void {
    const kind = key.includes('.') ? 'key' : 'key or block';
    this.problems.at(this.origin(key), key, `unknown ${kind}${didYouMean(key, candidates)}`);
  }
}

/** hcl2json renders anything it cannot reduce to a literal (a bare word, a reference, a function call) as "${...}". */
function hasExpression(raw: unknown): boolean {
  if (typeof raw === 'string') return raw.includes('${');
  return Array.isArray(raw) && raw.some(hasExpression);
}

function expressionError(raw: unknown): string {
  const text = JSON.stringify(raw).replace(/"\$\{([^}]*)\}"/g, '$1');
  return `expected a literal value, got the expression ${text}; quote literal strings`;
}
