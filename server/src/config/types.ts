/**
 * The one typed configuration object every process works from. Produced by
 * loadConfig() from defaults, the HCL file and TFM_* environment variables.
 * All paths are absolute once loaded; durations are in seconds.
 */

export interface ServerConfig {
  /** host:port to listen on. */
  listen: string;
  /** Absolute base for generated URLs (no trailing slash), or "" to derive from the request. */
  publicUrl: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** false: plain HTTP (behind an ingress). true without files: self-signed CA under <data_dir>/tls. */
  tls: boolean;
  /** Seconds to let in-flight requests finish on shutdown before connections are cut. */
  shutdownTimeout: number;
  /** Seconds a client may take to send the request headers. */
  headerTimeout: number;
  /** Seconds a client may take to send the whole request, body included. */
  requestTimeout: number;
  /** Seconds a socket may see no traffic either way (keep-alive idle and stalled downloads alike). */
  idleTimeout: number;
  /** Open connections per listener; more are closed on accept. */
  maxConnections: number;
  /** Processes sharing the main listener: this one plus workers - 1 read-serving processes (serving/). */
  workers: number;
  /** host:port of a separate listener for the admin API and /metrics, or "" for the main listener. */
  adminListen: string;
  /** CIDRs of reverse proxies allowed to set X-Forwarded-For/-Proto/-Host; empty: nobody. */
  trustedProxies: string[];
}

export interface FilesystemStorageConfig {
  type: 'filesystem';
  path: string;
}

export interface S3StorageConfig {
  type: 's3';
  bucket: string;
  region: string;
  /** Custom endpoint (MinIO, Ceph, ...); "" for AWS. */
  endpoint: string;
  /** Key prefix inside the bucket, "" or ending without a slash. */
  prefix: string;
  forcePathStyle: boolean;
  /** Static credentials; both empty means the default AWS credential chain (IAM roles, IRSA, env). */
  accessKeyId: string;
  secretAccessKey: string;
  presignDownloads: boolean;
  /** Lifetime of presigned download URLs, seconds. */
  presignTtl: number;
}

export type StorageConfig = FilesystemStorageConfig | S3StorageConfig;

export interface UpstreamConfig {
  /** Where service discovery for this hostname is done, with a trailing slash. */
  url: string;
  /** A providers.v1 base used instead of discovery (another mirror's /hosts/H/v1/providers/), with a trailing slash. */
  providersUrl?: string;
  /** A modules.v1 base used instead of discovery for modules (another mirror's /hosts/H/v1/modules/), with a trailing slash. */
  modulesUrl?: string;
  /** The base URL of a network mirror to pull from instead of a registry (its packages are recorded unsigned). */
  networkMirror?: string;
  /** Accept registry releases that list no signing keys, recorded unsigned (default false). */
  allowUnsigned?: boolean;
}

export interface PullThroughConfig {
  enabled: boolean;
  include: string[];
  exclude: string[];
  /** Seconds an upstream version list is reused before it is revalidated in the background. */
  metadataTtl: number;
  /** Seconds past metadataTtl a cached list is still served while the upstream fails. */
  staleIfError: number;
}

export interface CacheConfig {
  /** Directory of the archive disk cache (absolute; default <data_dir>/cache). */
  diskPath: string;
  /** Bytes the disk cache may hold; 0: no disk cache. */
  diskMaxSize: number;
  /** Documents the in-memory cache holds. */
  memoryMaxEntries: number;
  /** Seconds a cached archive is served before it is checked against the store again; 0: until evicted. */
  ttl: number;
}

export interface AuthConfig {
  jwtSecret: string;
  operatorToken: string;
  /** bcrypt cost factor for new password hashes. */
  bcryptCost: number;
  /** Lifetime of a login session, seconds. */
  sessionTtl: number;
  /** Password verifications allowed at once; more are refused with 429. 0: twice the CPU cores. */
  maxConcurrentLogins: number;
}

export interface JobsConfig {
  concurrency: number;
  maxAttempts: number;
}

export interface OperatorConfig {
  serverUrl: string;
  tokenFile: string;
  /** The operator's token itself, from TFM_OPERATOR_TOKEN only (never from the file); "" when unset. */
  token: string;
  namespace: string;
}

export interface LimitsConfig {
  /** Largest total uncompressed size of a provider zip, bytes. */
  zipMaxUncompressedBytes: number;
  /** Most entries a provider zip may hold. */
  zipMaxEntries: number;
  /** Largest compression ratio (uncompressed / compressed) of any one entry. */
  zipMaxRatio: number;
  /** Largest module download (archive bytes, or git data), bytes. */
  moduleMaxDownloadBytes: number;
  /** Largest total size of the files in a module tree, bytes. */
  moduleMaxTreeBytes: number;
  /** Most entries (files + directories) in a module tree. */
  moduleMaxEntries: number;
}

export interface LogConfig {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

export interface Config {
  dataDir: string;
  server: ServerConfig;
  database: { path: string };
  storage: StorageConfig;
  /** Keyed by lowercase hostname. */
  upstreams: Record<string, UpstreamConfig>;
  pullThrough: PullThroughConfig;
  cache: CacheConfig;
  auth: AuthConfig;
  audit: { retentionDays: number };
  jobs: JobsConfig;
  operator: OperatorConfig;
  limits: LimitsConfig;
  log: LogConfig;
  /** Where the configuration came from, for messages: a file path or "defaults". */
  source: string;
}
