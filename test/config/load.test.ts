import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, redactConfig } from '../../server/src/config/load.js';
import type { Config } from '../../server/src/config/types.js';
import { loadText, removeTempDirs, tempDir } from './helpers.js';

test.after.always(removeTempDirs);

// auth.operator_token must carry 32 random bytes: 43 base64url characters.
const OPERATOR_TOKEN = 'op-Zk3vQ9wL2xR7tB5nM8cJ4hF6gD1sA0pE_yU-iO3w';

test('with no file and no TFM_ variables every key has its default', async (t) => {
  const cwd = tempDir();
  const config = await loadConfig({ env: { PATH: '/bin', HOME: '/root' }, cwd });
  const expected: Config = {
    dataDir: path.join(cwd, 'data'),
    server: { listen: '127.0.0.1:8443', publicUrl: '', tlsCertFile: '', tlsKeyFile: '', tls: true, shutdownTimeout: 10, workers: 1, trustedProxies: [],
      headerTimeout: 30, requestTimeout: 30, idleTimeout: 60, maxConnections: 1024, adminListen: '' },
    database: { path: path.join(cwd, 'data', 'tfmirror.db') },
    storage: { type: 'filesystem', path: path.join(cwd, 'data', 'storage') },
    upstreams: { 'registry.terraform.io': { url: 'https://registry.terraform.io/' }, 'registry.opentofu.org': { url: 'https://registry.opentofu.org/' } },
    // The embedded default pulls through both public registries: a mirror with no configuration is a working cache.
    pullThrough: { enabled: true, include: ['registry.terraform.io/*/*', 'registry.opentofu.org/*/*'], exclude: [], metadataTtl: 600, staleIfError: 604_800 },
    cache: { diskPath: path.join(cwd, 'data', 'cache'), diskMaxSize: 10 * 2 ** 30, memoryMaxEntries: 10_000, ttl: 0 },
    auth: { jwtSecret: '', operatorToken: '', bcryptCost: 12, sessionTtl: 43_200, maxConcurrentLogins: 0 },
    audit: { retentionDays: 90 },
    jobs: { concurrency: 4, maxAttempts: 5 },
    operator: { serverUrl: 'http://127.0.0.1:8080', tokenFile: '', token: '', namespace: '' },
    limits: {
      zipMaxUncompressedBytes: 2147483648,
      zipMaxEntries: 10000,
      zipMaxRatio: 200,
      moduleMaxDownloadBytes: 100 * 2 ** 20,
      moduleMaxTreeBytes: 256 * 2 ** 20,
      moduleMaxEntries: 5000,
    },
    log: { level: 'info' },
    source: 'defaults',
  };
  t.deepEqual(config, expected);
});

test('TFM_CONFIG names the file when no file is passed, and an explicit file wins over it', async (t) => {
  const { dir, file } = await loadText('server {\n  listen = "0.0.0.0:1111"\n}\n');
  const other = path.join(dir, 'other.hcl');
  fs.writeFileSync(other, 'server {\n  listen = "0.0.0.0:2222"\n}\n');

  const viaEnv = await loadConfig({ env: { TFM_CONFIG: 'tfm.hcl' }, cwd: dir });
  t.is(viaEnv.server.listen, '0.0.0.0:1111');
  t.is(viaEnv.source, file);

  const explicit = await loadConfig({ file: other, env: { TFM_CONFIG: file }, cwd: dir });
  t.is(explicit.server.listen, '0.0.0.0:2222');
});

test('values from the file are typed, normalized and merged over the defaults', async (t) => {
  const { dir, config } = await loadText(`
# a full-ish configuration
data_dir = "/srv/tfm"
server {
  listen           = "[::1]:9443"
  public_url       = "https://mirror.example.com/base/"
  tls              = false
  shutdown_timeout = "1m"
  workers          = 3
}
storage {
  type              = "s3"
  bucket            = "providers"
  region            = "eu-west-1"
  endpoint          = "http://minio:9000/"
  prefix            = "/mirror/"
  force_path_style  = true
  presign_downloads = false
  presign_ttl       = "15m"
}
upstream "Registry.Example.COM" {
  url = "https://registry.example.com/v1"
}
upstream "tf.internal:8443" {}
pull_through {
  enabled = true
  include = ["registry.example.com/acme/*"]
  exclude = ["registry.example.com/acme/legacy"]
  metadata_ttl   = "5m"
  stale_if_error = "24h"
}
jobs {
  concurrency  = 8
  max_attempts = 3
}
operator {
  server_url = "https://tfm.tfm-system.svc:8443/"
  namespace  = "ci"
}
limits {
  zip_max_uncompressed_bytes = "500MiB"
  zip_max_entries            = 500
  module_max_download_bytes  = "20MiB"
  module_max_tree_bytes      = "64MiB"
  module_max_entries         = 800
}
log { level = "debug" }
`);
  t.is(config.dataDir, '/srv/tfm');
  t.deepEqual(config.server, {
    listen: '[::1]:9443',
    publicUrl: 'https://mirror.example.com/base',
    tlsCertFile: '',
    tlsKeyFile: '',
    tls: false,
    shutdownTimeout: 60,
    workers: 3,
    headerTimeout: 30,
    requestTimeout: 30,
    idleTimeout: 60,
    maxConnections: 1024,
    adminListen: '',
    trustedProxies: [],
  });
  t.is(config.database.path, '/srv/tfm/tfmirror.db');
  t.deepEqual(config.storage, {
    type: 's3',
    bucket: 'providers',
    region: 'eu-west-1',
    endpoint: 'http://minio:9000',
    prefix: 'mirror',
    forcePathStyle: true,
    accessKeyId: '',
    secretAccessKey: '',
    presignDownloads: false,
    presignTtl: 900,
  });
  t.deepEqual(config.upstreams, {
    'registry.terraform.io': { url: 'https://registry.terraform.io/' },
    'registry.opentofu.org': { url: 'https://registry.opentofu.org/' },
    'registry.example.com': { url: 'https://registry.example.com/v1/' },
    'tf.internal:8443': { url: 'https://tf.internal:8443/' },
  });
  t.deepEqual(config.pullThrough, {
    enabled: true,
    include: ['registry.example.com/acme/*'],
    exclude: ['registry.example.com/acme/legacy'],
    metadataTtl: 300,
    staleIfError: 86_400,
  });
  t.deepEqual(config.jobs, { concurrency: 8, maxAttempts: 3 });
  t.is(config.operator.serverUrl, 'https://tfm.tfm-system.svc:8443');
  t.is(config.operator.namespace, 'ci');
  t.deepEqual(config.limits, {
    zipMaxUncompressedBytes: 500 * 2 ** 20,
    zipMaxEntries: 500,
    zipMaxRatio: 200,
    moduleMaxDownloadBytes: 20 * 2 ** 20,
    moduleMaxTreeBytes: 64 * 2 ** 20,
    moduleMaxEntries: 800,
  });
  t.is(config.log.level, 'debug');
  t.is(config.source, path.join(dir, 'tfm.hcl'));
});

test('environment beats the file, which beats the defaults', async (t) => {
  const { config } = await loadText('server {\n  listen = "0.0.0.0:1111"\n}\njobs {\n  concurrency = 8\n}\n', {
    TFM_JOBS_CONCURRENCY: '16',
    TFM_LOG_LEVEL: 'warn',
  });
  t.is(config.server.listen, '0.0.0.0:1111'); // file
  t.is(config.jobs.concurrency, 16); // env over file
  t.is(config.log.level, 'warn'); // env over default
  t.is(config.jobs.maxAttempts, 5); // default
});

test('environment strings are parsed per kind: bools, numbers, durations, sizes, lists', async (t) => {
  const cwd = tempDir();
  const config = await loadConfig({
    cwd,
    env: {
      TFM_STORAGE_TYPE: 's3',
      TFM_STORAGE_BUCKET: 'b',
      TFM_STORAGE_PRESIGN_DOWNLOADS: 'no',
      TFM_STORAGE_FORCE_PATH_STYLE: '1',
      TFM_STORAGE_PRESIGN_TTL: '1h',
      TFM_SERVER_TLS: 'FALSE',
      TFM_SERVER_SHUTDOWN_TIMEOUT: '30',
      TFM_PULL_THROUGH_ENABLED: 'yes',
      TFM_PULL_THROUGH_INCLUDE: 'a.io/x/*, b.io/*/* ,',
      TFM_PULL_THROUGH_EXCLUDE: '',
      TFM_PULL_THROUGH_METADATA_TTL: '90s',
      TFM_PULL_THROUGH_STALE_IF_ERROR: '0',
      TFM_LIMITS_ZIP_MAX_UNCOMPRESSED_BYTES: '10MB',
      TFM_LIMITS_ZIP_MAX_ENTRIES: '42',
      TFM_LIMITS_MODULE_MAX_DOWNLOAD_BYTES: '5MB',
      TFM_LIMITS_MODULE_MAX_TREE_BYTES: '1GiB',
      TFM_LIMITS_MODULE_MAX_ENTRIES: '12',
      TFM_AUTH_OPERATOR_TOKEN: OPERATOR_TOKEN,
      TFM_OPERATOR_TOKEN: 'sidecar-secret',
      TFM_DATA_DIR: 'state',
    },
  });
  t.like(config.storage, { type: 's3', presignDownloads: false, forcePathStyle: true, presignTtl: 3600 });
  t.like(config.server, { tls: false, shutdownTimeout: 30 });
  t.deepEqual(config.pullThrough, { enabled: true, include: ['a.io/x/*', 'b.io/*/*'], exclude: [], metadataTtl: 90, staleIfError: 0 });
  t.deepEqual(config.limits, {
    zipMaxUncompressedBytes: 10_000_000,
    zipMaxEntries: 42,
    zipMaxRatio: 200,
    moduleMaxDownloadBytes: 5_000_000,
    moduleMaxTreeBytes: 2 ** 30,
    moduleMaxEntries: 12,
  });
  t.is(config.auth.operatorToken, OPERATOR_TOKEN);
  t.is(config.operator.token, 'sidecar-secret');
  t.is(config.dataDir, path.join(cwd, 'state'));
});

test('relative paths in the file resolve against the file directory, from the environment against cwd', async (t) => {
  const { dir, config } = await loadText(
    [
      'data_dir = "state"',
      'server {',
      '  tls_cert_file = "tls/cert.pem"',
      '  tls_key_file  = "../keys/key.pem"',
      '}',
      'storage {',
      '  path = "blobs"',
      '}',
      'operator {',
      '  token_file = "token"',
      '}',
      '',
    ].join('\n'),
    { TFM_DATABASE_PATH: 'db/tfm.db' },
    'etc/tfm.hcl',
  );
  const etc = path.join(dir, 'etc');
  t.is(config.dataDir, path.join(etc, 'state'));
  t.is(config.server.tlsCertFile, path.join(etc, 'tls/cert.pem'));
  t.is(config.server.tlsKeyFile, path.join(dir, 'keys/key.pem'));
  t.deepEqual(config.storage, { type: 'filesystem', path: path.join(etc, 'blobs') });
  t.is(config.operator.tokenFile, path.join(etc, 'token'));
  t.is(config.database.path, path.join(dir, 'db/tfm.db'));
});

test('database and storage paths default under a data_dir set in the file', async (t) => {
  const { dir, config } = await loadText('data_dir = "var"\n');
  t.is(config.database.path, path.join(dir, 'var', 'tfmirror.db'));
  t.deepEqual(config.storage, { type: 'filesystem', path: path.join(dir, 'var', 'storage') });
});

test('s3 keys are accepted but ignored while storage.type is filesystem', async (t) => {
  const { config } = await loadText('storage {\n  bucket = "later"\n  region = "eu-west-1"\n}\n');
  t.is(config.storage.type, 'filesystem');
});

test('listen accepts port 0 (any free port) and bracketed IPv6', async (t) => {
  for (const listen of ['127.0.0.1:0', '[::]:8443', 'localhost:80']) {
    const config = await loadConfig({ env: { TFM_SERVER_LISTEN: listen }, cwd: tempDir() });
    t.is(config.server.listen, listen);
  }
});

test('a null value leaves the default in place', async (t) => {
  const { config } = await loadText('server {\n  listen = null\n}\n');
  t.is(config.server.listen, '127.0.0.1:8443');
});

const serviceLinkVars = [
  'TFM_SERVICE_HOST',
  'TFM_SERVICE_PORT',
  'TFM_SERVICE_PORT_HTTPS',
  'TFM_PORT',
  'TFM_PORT_8443_TCP',
  'TFM_PORT_8443_TCP_PROTO',
  'TFM_PORT_8443_TCP_PORT',
  'TFM_PORT_8443_TCP_ADDR',
  'TFM_METRICS_PORT_9090_UDP',
];

test('Kubernetes service-link variables for a Service named like our prefix are ignored', async (t) => {
  const env = Object.fromEntries(serviceLinkVars.map((n) => [n, 'tcp://10.0.0.1:8443']));
  const config = await loadConfig({ env, cwd: tempDir() });
  t.is(config.server.listen, '127.0.0.1:8443');
});

test('variables without the TFM_ prefix are none of our business', async (t) => {
  await t.notThrowsAsync(loadConfig({ env: { SERVER_LISTNE: 'x', tfm_server_listne: 'x' }, cwd: tempDir() }));
});

test('redaction hides every non-empty secret and leaves the rest and the original alone', async (t) => {
  const config = await loadConfig({
    cwd: tempDir(),
    env: {
      TFM_STORAGE_TYPE: 's3',
      TFM_STORAGE_BUCKET: 'b',
      TFM_STORAGE_ACCESS_KEY_ID: 'AKIA123',
      TFM_STORAGE_SECRET_ACCESS_KEY: 'shh',
      TFM_AUTH_JWT_SECRET: 'jwt',
      TFM_OPERATOR_TOKEN: 'tok',
    },
  });
  const r = redactConfig(config) as Config;
  t.like(r.storage, { bucket: 'b', accessKeyId: '[redacted]', secretAccessKey: '[redacted]' });
  t.deepEqual(r.auth, { jwtSecret: '[redacted]', operatorToken: '' });
  t.is(r.operator.token, '[redacted]');
  t.is(r.operator.serverUrl, config.operator.serverUrl);
  t.false(JSON.stringify(r).includes('shh'));
  t.is(config.auth.jwtSecret, 'jwt');
  t.like(config.storage, { secretAccessKey: 'shh' });
});
