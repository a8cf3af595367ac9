/**
 * loadConfig(): defaults < HCL file < TFM_* environment, into one typed Config.
 *
 * - File: opts.file, else $TFM_CONFIG, else none (defaults and env only).
 * - Every table key (schema.ts) is also TFM_<BLOCK>_<KEY>, e.g.
 *   TFM_SERVER_LISTEN, TFM_STORAGE_TYPE; top-level ones are TFM_<KEY>
 *   (TFM_DATA_DIR). Booleans take true/false/1/0/yes/no, lists are
 *   comma-separated. TFM_OPERATOR_TOKEN is environment-only.
 * - Labeled `upstream "<hostname>" { url = ... }` blocks are file-only (a map
 *   keyed by hostname has no flat variable name); they add to or override the
 *   default registry.terraform.io entry.
 * - Relative paths resolve against the config file's directory when set in
 *   the file, against cwd when set in the environment or by default.
 * - Unknown keys and unknown TFM_* variables are errors (Kubernetes
 *   service-link variables excepted). All problems are reported together in
 *   one InvalidInput, one per line, details from the first.
 *
 * The only I/O is reading the config file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInput } from '../errors.js';
import { buildConfig } from './build.js';
import { readEnvLayer } from './env.js';
import { parseHcl, readFileLayer } from './hcl.js';
import { Problems, type Setting } from './problems.js';
import { CONFIG_FILE_ENV, KEYS } from './schema.js';
import type { Config } from './types.js';

export interface LoadOptions {
  /** Config file; relative to cwd. Overrides $TFM_CONFIG. */
  file?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Base for relative paths from the environment and defaults; defaults to process.cwd(). */
  cwd?: string;
}

export async function loadConfig(opts: LoadOptions = {}): Promise<Config> {
  const env = opts.env ?? process.env;
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const file = configFile(opts.file, env, cwd);
  const problems = new Problems();

  const settings = defaults(cwd);
  let upstreams = new Map<string, Setting>();
  if (file) {
    const text = await readConfigFile(file);
    const layer = readFileLayer(await parseHcl(file, text), file, text, problems);
    for (const [k, s] of layer.settings) settings.set(k, s);
    upstreams = layer.upstreams;
  }
  for (const [k, s] of readEnvLayer(env, cwd, problems)) settings.set(k, s);

  const config = buildConfig(settings, upstreams, file ?? 'defaults', problems);
  problems.throwIfAny();
  return config;
}

function configFile(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const chosen = explicit || env[CONFIG_FILE_ENV] || undefined;
  return chosen === undefined ? undefined : path.resolve(cwd, chosen);
}

function defaults(cwd: string): Map<string, Setting> {
  const origin = { source: 'default', dir: cwd } as const;
  return new Map(KEYS.map((k) => [k.path, { key: k.path, value: k.default, origin }]));
}

async function readConfigFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new InvalidInput(`cannot read config file ${file}: ${why}`, { file });
  }
}

const REDACTED = '[redacted]';

/** A copy of `c` safe to log: every non-empty secret replaced by "[redacted]". */
export function redactConfig(c: Config): unknown {
  const hide = (v: string): string => (v === '' ? '' : REDACTED);
  const storage =
    c.storage.type === 's3'
      ? { ...c.storage, accessKeyId: hide(c.storage.accessKeyId), secretAccessKey: hide(c.storage.secretAccessKey) }
      : { ...c.storage };
  return {
    ...structuredClone(c),
    storage,
    auth: { jwtSecret: hide(c.auth.jwtSecret), operatorToken: hide(c.auth.operatorToken) },
    operator: { ...c.operator, token: hide(c.operator.token) },
  };
}
