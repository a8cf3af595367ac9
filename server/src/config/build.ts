/**
 * From merged settings (defaults < file < env, each remembering its origin) to
 * the typed Config: resolve paths, derive defaults that depend on data_dir,
 * normalize URLs and check the rules that span more than one value. Problems
 * are reported against the origin of the value at fault so the message points
 * at the file line or the environment variable to change.
 */
import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import { parseCidr } from './cidr.js';
import type { UpstreamSetting } from './hcl.js';
import type { Problems, Setting } from './problems.js';
import { DEFAULT_UPSTREAMS } from './schema.js';
import { secretStrengthProblem } from './token-strength.js';
import { parseDuration } from './values.js';
import type { CacheConfig, Config, LogConfig, OperatorConfig, ServerConfig, StorageConfig, UpstreamConfig } from './types.js';

export function buildConfig(
  settings: ReadonlyMap<string, Setting>,
  upstreams: ReadonlyMap<string, UpstreamSetting>,
  source: string,
  problems: Problems,
): Config {
  const s = new Reader(settings, problems);
  const dataDir = s.path('data_dir');
  if (dataDir === '') s.fail('data_dir', 'must not be empty');
  return {
    dataDir,
    server: buildServer(s),
    database: { path: s.path('database.path') || path.join(dataDir, 'tfmirror.db') },
    storage: buildStorage(s, dataDir),
    upstreams: buildUpstreams(upstreams, problems),
    pullThrough: {
      enabled: s.bool('pull_through.enabled'),
      include: s.patterns('pull_through.include'),
      exclude: s.patterns('pull_through.exclude'),
      metadataTtl: s.num('pull_through.metadata_ttl'),
      staleIfError: s.num('pull_through.stale_if_error'),
    },
    cache: buildCache(s, dataDir),
    auth: {
      jwtSecret: s.str('auth.jwt_secret'),
      operatorToken: s.secret('auth.operator_token'),
      bcryptCost: s.num('auth.bcrypt_cost'),
      sessionTtl: s.num('auth.session_ttl'),
      maxConcurrentLogins: s.num('auth.max_concurrent_logins'),
    },
    audit: { retentionDays: s.num('audit.retention_days') },
    jobs: { concurrency: s.num('jobs.concurrency'), maxAttempts: s.num('jobs.max_attempts') },
    operator: buildOperator(s),
    limits: {
      zipMaxUncompressedBytes: s.num('limits.zip_max_uncompressed_bytes'),
      zipMaxEntries: s.num('limits.zip_max_entries'),
      zipMaxRatio: s.num('limits.zip_max_ratio'),
      moduleMaxDownloadBytes: s.num('limits.module_max_download_bytes'),
      moduleMaxTreeBytes: s.num('limits.module_max_tree_bytes'),
      moduleMaxEntries: s.num('limits.module_max_entries'),
    },
    log: { level: s.str('log.level') as LogConfig['level'] },
    source,
  };
}

/** Typed access to settings; values already have their schema type, so the casts only restate it. */
class Reader {
  constructor(
    private readonly settings: ReadonlyMap<string, Setting>,
    private readonly problems: Problems,
  ) {}

  get(key: string): Setting {
    const s = this.settings.get(key);
    if (!s) throw new Error(`config key ${key} missing from the schema defaults`);
    return s;
  }
  str(key: string): string {
    return this.get(key).value as string;
  }
  num(key: string): number {
    return this.get(key).value as number;
  }
  bool(key: string): boolean {
    return this.get(key).value as boolean;
  }
  /** Absolute path, resolved against the directory of whatever set it; "" stays "" (unset). */
  path(key: string): string {
    const { value, origin } = this.get(key);
    return value === '' ? '' : path.resolve(origin.dir, value as string);
  }
  /** A bearer secret: "" (unset) or strong enough to stand in for 32 random bytes. */
  secret(key: string): string {
    const value = this.str(key);
    const problem = value === '' ? undefined : secretStrengthProblem(value);
    if (problem) this.fail(key, problem);
    return value;
  }
  /** A list of CIDRs (or bare addresses), each checked. */
  cidrs(key: string): string[] {
    const list = (this.get(key).value as string[]).map((c) => c.trim());
    for (const c of list) {
      const r = parseCidr(c);
      if ('error' in r) this.fail(key, r.error);
    }
    return list;
  }
  fail(key: string, message: string): void {
    this.problems.at(this.get(key).origin, key, message);
  }
  /** A problem with `key` caused by the value of `cause` (e.g. a missing bucket is due to type = "s3"). */
  failBecause(cause: string, key: string, message: string): void {
    this.problems.at(this.get(cause).origin, key, message);
  }
  /** A URL normalized by `slash`, or "" (allowed only when `optional`). */
  url(key: string, slash: 'strip' | 'add', optional: boolean): string {
    const text = this.str(key).trim();
    if (text === '' && optional) return '';
    const r = normalizeUrl(text, slash);
    if ('error' in r) this.fail(key, r.error);
    return 'url' in r ? r.url : text;
  }
  /** Provider address globs: <hostname>/<namespace>/<type>. */
  patterns(key: string): string[] {
    const list = this.get(key).value as string[];
    for (const p of list) {
      if (!/^[^/\s]+\/[^/\s]+\/[^/\s]+$/.test(p)) {
        this.fail(key, `pattern ${JSON.stringify(p)} must look like <hostname>/<namespace>/<type>, e.g. registry.terraform.io/hashicorp/*`);
      }
    }
    return list;
  }
}

function buildServer(s: Reader): ServerConfig {
  const listen = s.str('server.listen').trim();
  const listenError = checkListen(listen);
  if (listenError) s.fail('server.listen', listenError);
  const tlsCertFile = s.path('server.tls_cert_file');
  const tlsKeyFile = s.path('server.tls_key_file');
  const tls = s.bool('server.tls');
  if ((tlsCertFile === '') !== (tlsKeyFile === '')) {
    const [set, missing] = tlsCertFile ? ['tls_cert_file', 'tls_key_file'] : ['tls_key_file', 'tls_cert_file'];
    s.fail(`server.${set}`, `is set but server.${missing} is not; set both or neither`);
  } else if (!tls && tlsCertFile) {
    s.fail('server.tls', 'is false but tls_cert_file and tls_key_file are set; remove them or set tls = true');
  }
  return {
    listen,
    publicUrl: s.url('server.public_url', 'strip', true),
    tlsCertFile,
    tlsKeyFile,
    tls,
    shutdownTimeout: s.num('server.shutdown_timeout'),
    workers: s.num('server.workers'),
    ...buildServerLimits(s, listen),
    trustedProxies: s.cidrs('server.trusted_proxies'),
  };
}

function buildServerLimits(s: Reader, listen: string): Pick<ServerConfig, 'headerTimeout' | 'requestTimeout' | 'idleTimeout' | 'maxConnections' | 'adminListen'> {
  const headerTimeout = s.num('server.header_timeout');
  const requestTimeout = s.num('server.request_timeout');
  // Node refuses a header deadline later than the whole-request deadline.
  if (headerTimeout > requestTimeout) s.fail('server.header_timeout', `must not exceed server.request_timeout (${requestTimeout}s)`);
  const adminListen = s.str('server.admin_listen').trim();
  const adminError = adminListen === '' ? undefined : checkListen(adminListen);
  if (adminError) s.fail('server.admin_listen', adminError);
  else if (adminListen !== '' && adminListen === listen && !listen.endsWith(':0')) {
    s.fail('server.admin_listen', 'must differ from server.listen (or be "" to serve the admin API there)');
  }
  return { headerTimeout, requestTimeout, idleTimeout: s.num('server.idle_timeout'), maxConnections: s.num('server.max_connections'), adminListen };
}

/** host:port, port 0..65535 (0: any free port, for tests), IPv6 bracketed. Returns an error message or undefined. */
export function checkListen(v: string): string | undefined {
  const m = /^(\[[^\]]*\]|[^:[\]]*):(\d{1,5})$/.exec(v);
  if (!m) {
    const hint = (v.match(/:/g) ?? []).length > 1 && !v.startsWith('[') ? 'put IPv6 addresses in brackets, ' : '';
    return `must be host:port (${hint}e.g. 127.0.0.1:8443 or [::1]:8443), got ${JSON.stringify(v)}`;
  }
  const [, host = '', portText = ''] = m;
  const port = Number(portText);
  if (port > 65535) return `port must be 0..65535, got ${portText}`;
  if (host === '') return 'host is missing; use 0.0.0.0 or [::] to listen on every interface';
  const ok = host.startsWith('[')
    ? isIPv6(host.slice(1, -1))
    : isIPv4(host) || (!/^[\d.]+$/.test(host) && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host));
  return ok ? undefined : `host ${JSON.stringify(host)} is not an IP address or hostname`;
}

/** Absolute http(s) URL without query, fragment or credentials (URLs end up in logs and responses). */
export function normalizeUrl(text: string, slash: 'strip' | 'add'): { url: string } | { error: string } {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return { error: `must be an absolute http(s) URL, got ${JSON.stringify(text)}` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return { error: `must be an http or https URL, got ${JSON.stringify(text)}` };
  }
  if (text.includes('?') || text.includes('#')) return { error: `must not have a query or fragment, got ${JSON.stringify(text)}` };
  if (u.username || u.password) return { error: 'must not contain credentials' };
  const base = u.href.replace(/\/+$/, '');
  return { url: slash === 'add' ? `${base}/` : base };
}

function buildStorage(s: Reader, dataDir: string): StorageConfig {
  if (s.str('storage.type') !== 's3') {
    return { type: 'filesystem', path: s.path('storage.path') || path.join(dataDir, 'storage') };
  }
  // s3 keys are accepted whatever the type (one env can flip the type), but only checked for s3.
  if (s.str('storage.bucket').trim() === '') s.failBecause('storage.type', 'storage.bucket', 'is required when storage.type is "s3"');
  if (s.str('storage.region').trim() === '') s.fail('storage.region', 'must not be empty when storage.type is "s3"');
  const accessKeyId = s.str('storage.access_key_id');
  const secretAccessKey = s.str('storage.secret_access_key');
  if ((accessKeyId === '') !== (secretAccessKey === '')) {
    const set = accessKeyId ? 'storage.access_key_id' : 'storage.secret_access_key';
    s.fail(set, 'access_key_id and secret_access_key must be set together (or neither, for the default AWS credential chain)');
  }
  return {
    type: 's3',
    bucket: s.str('storage.bucket').trim(),
    region: s.str('storage.region').trim(),
    endpoint: s.url('storage.endpoint', 'strip', true),
    // Stored keys are "<prefix>/<key>"; slashes at either end would double up or root the keys.
    prefix: s.str('storage.prefix').replace(/^\/+|\/+$/g, ''),
    forcePathStyle: s.bool('storage.force_path_style'),
    accessKeyId,
    secretAccessKey,
    presignDownloads: s.bool('storage.presign_downloads'),
    presignTtl: s.num('storage.presign_ttl'),
  };
}

function buildCache(s: Reader, dataDir: string): CacheConfig {
  const ttlText = s.str('cache.ttl').trim();
  const ttl = ttlText === '' ? 0 : parseDuration(ttlText);
  if (typeof ttl === 'string') s.fail('cache.ttl', `${ttl} (or "" to serve until evicted)`);
  return {
    diskPath: s.path('cache.disk_path') || path.join(dataDir, 'cache'),
    diskMaxSize: s.num('cache.disk_max_size'),
    memoryMaxEntries: s.num('cache.memory_max_entries'),
    ttl: typeof ttl === 'number' ? ttl : 0,
  };
}

function buildUpstreams(fromFile: ReadonlyMap<string, UpstreamSetting>, problems: Problems): Record<string, UpstreamConfig> {
  // File blocks add to (or override) the defaults: declaring a private registry should not drop the public one.
  const out: Record<string, UpstreamConfig> = {};
  for (const [host, url] of Object.entries(DEFAULT_UPSTREAMS)) out[host] = { url };
  for (const [host, setting] of fromFile) {
    const text = (setting.value as string).trim() || `https://${host}/`;
    const r = normalizeUrl(text, 'add');
    if ('error' in r) problems.at(setting.origin, setting.key, r.error);
    else out[host] = { url: r.url, ...buildUpstreamSource(setting, problems) };
  }
  return out;
}

/**
 * providers_url or network_mirror (one at most: each replaces discovery),
 * modules_url (modules.v1 instead of discovery; a network mirror serves no
 * modules, so not with network_mirror) and allow_unsigned. Both URLs must be https, as Terraform demands of mirrors,
 * except on loopback or a private address literal (a mirror next door, a test).
 */
function buildUpstreamSource(u: UpstreamSetting, problems: Problems): Omit<UpstreamConfig, 'url'> {
  const out: Omit<UpstreamConfig, 'url'> = {};
  // "" means unset, as for every other key: a copied example with both empty is no conflict.
  const isSet = (x: Setting | undefined): x is Setting => x !== undefined && (x.value as string).trim() !== '';
  if (isSet(u.providersUrl) && isSet(u.networkMirror)) {
    // Reported at whichever comes later in the block: that is the line to delete.
    const line = (x: Setting) => (x.origin.source === 'file' ? (x.origin.line ?? 0) : 0);
    const [first, second] = line(u.networkMirror) >= line(u.providersUrl) ? [u.providersUrl, u.networkMirror] : [u.networkMirror, u.providersUrl];
    const firstName = first.key.slice(first.key.lastIndexOf('.') + 1);
    problems.at(second.origin, second.key, `cannot be set together with ${firstName}: an upstream is either a registry (providers_url) or a network mirror (network_mirror)`);
  } else {
    for (const [field, setting] of [['providersUrl', u.providersUrl], ['networkMirror', u.networkMirror]] as const) {
      if (!isSet(setting)) continue;
      const r = normalizeUrl((setting.value as string).trim(), 'add');
      const error = 'error' in r ? r.error : httpsProblem(r.url);
      if (error) problems.at(setting.origin, setting.key, error);
      else if ('url' in r) out[field] = r.url;
    }
  }
  if (isSet(u.modulesUrl)) {
    const r = normalizeUrl((u.modulesUrl.value as string).trim(), 'add');
    const error = isSet(u.networkMirror)
      ? 'cannot be set together with network_mirror: a network mirror serves no modules'
      : 'error' in r
        ? r.error
        : httpsProblem(r.url);
    if (error) problems.at(u.modulesUrl.origin, u.modulesUrl.key, error);
    else if ('url' in r) out.modulesUrl = r.url;
  }
  if (u.allowUnsigned?.value === true) out.allowUnsigned = true;
  return out;
}

/** Why a mirror URL may not be plain http: it is not on loopback or a private address literal. */
function httpsProblem(url: string): string | undefined {
  const u = new URL(url);
  if (u.protocol === 'https:') return undefined;
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const privateV4 = isIPv4(host) && /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(host);
  const privateV6 = isIPv6(host) && (host === '::1' || /^f[cd]/.test(host));
  const local = host === 'localhost' || host.endsWith('.localhost') || privateV4 || privateV6;
  return local ? undefined : `must be an https URL (plain http only on loopback or a private address), got ${JSON.stringify(url)}`;
}

function buildOperator(s: Reader): OperatorConfig {
  const namespace = s.str('operator.namespace').trim();
  if (namespace !== '' && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
    s.fail('operator.namespace', `must be empty (all namespaces) or a Kubernetes namespace name, got ${JSON.stringify(namespace)}`);
  }
  return {
    serverUrl: s.url('operator.server_url', 'strip', false),
    tokenFile: s.path('operator.token_file'),
    token: s.str('operator.token'),
    namespace,
  };
}
