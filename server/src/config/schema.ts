/**
 * The table of every configuration key: its HCL path, value kind, default and
 * environment variable name. The file reader, the environment reader and the
 * builder all work from this one table so the three can never disagree.
 *
 * Labeled `upstream "<hostname>"` blocks are not in the table: they are a map
 * keyed by hostname, which a flat TFM_* name cannot express, so they are
 * file-only (see hcl.ts). Their keys: url (where discovery is done),
 * providers_url and modules_url (a providers.v1 / modules.v1 base used instead
 * of discovery, e.g. another mirror's /hosts/H/v1/providers/ and
 * /hosts/H/v1/modules/), network_mirror (a plain network mirror instead of a
 * registry; serves no modules, so not with modules_url), allow_unsigned.
 */

export type Value = string | number | boolean | string[];

export type Kind =
  | { type: 'string' }
  /** A string resolved to an absolute path against the directory of whatever set it. */
  | { type: 'path' }
  | { type: 'bool' }
  | { type: 'int'; min: number; max: number }
  /** Whole seconds; numbers or strings like "15m", "1h30m". */
  | { type: 'duration'; min: number; max: number }
  /** Bytes; numbers or strings like "2GiB", "10MB". */
  | { type: 'size'; min: number; max: number }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'list' };

export interface KeySpec {
  /** Dotted HCL path: "data_dir" or "<block>.<key>". */
  path: string;
  kind: Kind;
  default: Value;
  /** Settable only through the environment (e.g. TFM_OPERATOR_TOKEN: a raw token has no business in a file). */
  envOnly?: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export const STORAGE_TYPES = ['filesystem', 's3'] as const;

const DAY = 86_400;

const str = (path: string, def = ''): KeySpec => ({ path, kind: { type: 'string' }, default: def });
const file = (path: string, def = ''): KeySpec => ({ path, kind: { type: 'path' }, default: def });
const bool = (path: string, def: boolean): KeySpec => ({ path, kind: { type: 'bool' }, default: def });
const list = (path: string, def: string[]): KeySpec => ({ path, kind: { type: 'list' }, default: def });
const int = (path: string, def: number, min: number, max: number): KeySpec => ({
  path,
  kind: { type: 'int', min, max },
  default: def,
});
const duration = (path: string, def: number, min: number, max: number): KeySpec => ({
  path,
  kind: { type: 'duration', min, max },
  default: def,
});
const size = (path: string, def: number): KeySpec => ({
  path,
  kind: { type: 'size', min: 1, max: Number.MAX_SAFE_INTEGER },
  default: def,
});
const oneOf = (path: string, values: readonly string[], def: string): KeySpec => ({
  path,
  kind: { type: 'enum', values },
  default: def,
});

export const KEYS: readonly KeySpec[] = [
  file('data_dir', './data'),

  str('server.listen', '127.0.0.1:8443'),
  str('server.public_url'),
  file('server.tls_cert_file'),
  file('server.tls_key_file'),
  bool('server.tls', true),
  duration('server.shutdown_timeout', 10, 0, 3600),
  // Slow-client bounds (Node's own defaults let a stalled request hold a socket for 300 s).
  duration('server.header_timeout', 30, 1, 3600),
  // The whole request, body included, must arrive within this; responses are bounded by idle_timeout instead.
  duration('server.request_timeout', 30, 1, 3600),
  // A socket with no traffic either way for this long is destroyed (a download whose client stopped reading too).
  duration('server.idle_timeout', 60, 1, 3600),
  int('server.max_connections', 1024, 1, 1_000_000),
  // Processes answering the main listener: this one (writes, jobs, admin) and workers - 1 that serve reads.
  int('server.workers', 1, 1, 64),
  // "" serves the admin API on the main listener; host:port moves it (and /metrics) to a listener of its own.
  str('server.admin_listen'),
  // CIDRs of reverse proxies whose X-Forwarded-* headers are believed; empty: none, whatever tls says.
  list('server.trusted_proxies', []),

  // "" means <data_dir>/tfmirror.db; derived in build.ts once data_dir is known.
  file('database.path'),

  oneOf('storage.type', STORAGE_TYPES, 'filesystem'),
  // "" means <data_dir>/storage.
  file('storage.path'),
  str('storage.bucket'),
  str('storage.region', 'us-east-1'),
  str('storage.endpoint'),
  str('storage.prefix'),
  bool('storage.force_path_style', false),
  str('storage.access_key_id'),
  str('storage.secret_access_key'),
  bool('storage.presign_downloads', true),
  // S3 (SigV4) refuses presigned URLs living longer than 7 days.
  duration('storage.presign_ttl', 900, 1, 7 * DAY),

  // The archive disk cache, in the path only for storage.type = "s3" with presign_downloads = false.
  // "" means <data_dir>/cache.
  file('cache.disk_path'),
  // 0 turns the disk cache off.
  { path: 'cache.disk_max_size', kind: { type: 'size', min: 0, max: Number.MAX_SAFE_INTEGER }, default: 10 * 2 ** 30 },
  // Documents (index.json, {version}.json) held in memory.
  int('cache.memory_max_entries', 10_000, 1, 10_000_000),
  // How long a cached archive is served before checking it still exists in the store (and re-hashing the copy);
  // "" until evicted or invalidated. A string so that "" can mean unset; parsed as a duration in build.ts.
  str('cache.ttl'),

  // On by default: a mirror started with no configuration is a working cache of the public registries at once.
  bool('pull_through.enabled', true),
  list('pull_through.include', ['registry.terraform.io/*/*', 'registry.opentofu.org/*/*']),
  list('pull_through.exclude', []),
  // Upstream version lists are reused this long, then answered stale while one background request revalidates them.
  duration('pull_through.metadata_ttl', 600, 0, 30 * DAY),
  // How long past metadata_ttl a cached list is still served while the upstream fails; beyond that, the error.
  duration('pull_through.stale_if_error', 168 * 3600, 0, 365 * DAY),

  str('auth.jwt_secret'),
  str('auth.operator_token'),
  int('auth.bcrypt_cost', 12, 10, 15),
  duration('auth.session_ttl', 12 * 3600, 300, 30 * DAY),
  // Password verifications running at once (bcrypt is CPU-bound); 0: twice the CPU cores.
  int('auth.max_concurrent_logins', 0, 0, 1024),

  int('audit.retention_days', 90, 1, 3650),

  int('jobs.concurrency', 4, 1, 64),
  int('jobs.max_attempts', 5, 1, 100),

  str('operator.server_url', 'http://127.0.0.1:8080'),
  file('operator.token_file'),
  str('operator.namespace'),
  { ...str('operator.token'), envOnly: true },

  size('limits.zip_max_uncompressed_bytes', 2_147_483_648),
  int('limits.zip_max_entries', 10_000, 1, 10_000_000),
  int('limits.zip_max_ratio', 200, 1, 1_000_000),
  // Module packages are untrusted trees from anywhere an upstream points: the archive or git data
  // downloaded, the files unpacked, and the entries (files + directories) are each bounded.
  size('limits.module_max_download_bytes', 100 * 2 ** 20),
  size('limits.module_max_tree_bytes', 256 * 2 ** 20),
  int('limits.module_max_entries', 5000, 1, 1_000_000),

  oneOf('log.level', LOG_LEVELS, 'info'),
];

/** TFM_<BLOCK>_<KEY>, or TFM_<KEY> for top-level keys. */
export function envName(path: string): string {
  return `TFM_${path.replace('.', '_').toUpperCase()}`;
}

export const CONFIG_FILE_ENV = 'TFM_CONFIG';
export const UPSTREAM_BLOCK = 'upstream';
export const DEFAULT_UPSTREAMS: Readonly<Record<string, string>> = {
  'registry.terraform.io': 'https://registry.terraform.io/',
  'registry.opentofu.org': 'https://registry.opentofu.org/',
};

export const KEY_BY_PATH: ReadonlyMap<string, KeySpec> = new Map(KEYS.map((k) => [k.path, k]));
export const KEY_BY_ENV: ReadonlyMap<string, KeySpec> = new Map(KEYS.map((k) => [envName(k.path), k]));

/** Keys that may appear in the file, i.e. everything but env-only ones. */
export function fileKeys(): KeySpec[] {
  return KEYS.filter((k) => !k.envOnly);
}

/** Unlabeled block names, in table order. */
export const BLOCK_NAMES: readonly string[] = [
  ...new Set(fileKeys().flatMap((k) => (k.path.includes('.') ? [k.path.split('.')[0]!] : []))),
];

/** Keys allowed inside `block { }`, without the block prefix. */
export function keysOfBlock(block: string): string[] {
  const prefix = `${block}.`;
  return fileKeys()
    .filter((k) => k.path.startsWith(prefix))
    .map((k) => k.path.slice(prefix.length));
}

/** Names allowed at the top level of the file: attributes and blocks. */
export function topLevelNames(): string[] {
  const attrs = fileKeys().filter((k) => !k.path.includes('.')).map((k) => k.path);
  return [...attrs, ...BLOCK_NAMES, UPSTREAM_BLOCK];
}
