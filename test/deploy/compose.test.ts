/**
 * Static checks of compose.yaml (no Docker here): the server's environment,
 * interpolated as `docker compose` would with no .env file, is a
 * configuration the real loader accepts; named volumes are declared and hold
 * the data; the pieces refer to each other consistently.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parse } from 'yaml';
import { loadConfig } from '../../server/src/config/load.js';
import { CONFIG_FILE_ENV, KEY_BY_ENV } from '../../server/src/config/schema.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as Doc;
const services = compose.services as Record<string, Doc>;

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $$ for a literal $. */
function interpolate(text: string, env: Record<string, string>, missing: string[]): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, def: string | undefined) => {
    if (whole === '$$') return '$';
    const value = env[name!];
    if (op === ':-') return value === undefined || value === '' ? def! : value;
    if (op === '-') return value === undefined ? def! : value;
    if (value === undefined) missing.push(name!);
    return value ?? '';
  });
}

/** A service's environment as the container sees it (map or KEY=VALUE list form). */
function environmentOf(service: Doc, env: Record<string, string>, missing: string[] = []): Record<string, string> {
  const raw = service.environment ?? {};
  const pairs: [string, string][] = Array.isArray(raw)
    ? raw.map((e: string) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])
    : Object.entries(raw).map(([k, v]) => [k, String(v)]);
  return Object.fromEntries(pairs.map(([k, v]) => [k, interpolate(v, env, missing)]));
}

/** Named volumes a service mounts, with their mount paths (short "name:/path" and long form). */
function namedVolumes(service: Doc): { source: string; target: string }[] {
  return (service.volumes ?? [])
    .map((v: string | Doc) => (typeof v === 'string' ? { source: v.split(':')[0]!, target: v.split(':')[1] ?? '' } : { source: v.source, target: v.target }))
    .filter((v: { source: string }) => !v.source.startsWith('.') && !v.source.startsWith('/'));
}

const server = services.tfmirror!;

test('the server service builds this repository into the terraform-mirror image', (t) => {
  t.is(server.build, '.');
  t.is(server.image, 'terraform-mirror');
  t.true(existsSync(join(ROOT, 'Dockerfile')));
});

test('every TFM_* variable compose sets is one the server knows', (t) => {
  const names = Object.keys(environmentOf(server, {})).filter((n) => n.startsWith('TFM_'));
  t.true(names.length > 5);
  const unknown = names.filter((n) => n !== CONFIG_FILE_ENV && !KEY_BY_ENV.has(n));
  t.deepEqual(unknown, []);
});

const envFiles: { name: string; env: Record<string, string> }[] = [
  { name: 'with no .env file', env: {} },
  { name: 'with a public URL and credentials from a .env file', env: { TFM_PUBLIC_URL: 'https://mirror.example.com', MINIO_ROOT_USER: 'ops', MINIO_ROOT_PASSWORD: 's3cr3t-from-env' } },
];
for (const c of envFiles) {
  test(`the server's environment ${c.name} loads as an S3, pull-through configuration`, async (t) => {
    const missing: string[] = [];
    const env = environmentOf(server, c.env, missing);
    t.deepEqual(missing, [], 'every variable has a default, so docker compose up needs no .env file');
    const config = await loadConfig({ env, cwd: '/' });
    t.is(config.dataDir, '/data');
    t.is(config.storage.type, 's3');
    t.true(config.pullThrough.enabled);
    t.deepEqual(config.pullThrough.include, ['registry.terraform.io/*/*', 'registry.opentofu.org/*/*']);
    if (config.storage.type !== 's3') return;
    const minio = environmentOf(services.minio!, c.env);
    t.is<string | undefined, string | undefined>(config.storage.accessKeyId, minio.MINIO_ROOT_USER, 'the server signs in with the MinIO credentials');
    t.is<string | undefined, string | undefined>(config.storage.secretAccessKey, minio.MINIO_ROOT_PASSWORD);
    t.false(config.storage.presignDownloads, 'clients cannot resolve the MinIO service name');
    t.truthy(services[new URL(config.storage.endpoint).hostname], 'the S3 endpoint is a service of this file');
    t.regex(
      interpolate(JSON.stringify(services.createbucket!.entrypoint), {}, []),
      new RegExp(`mc mb --ignore-existing local/${config.storage.bucket}\\b`),
      'the one-shot creates the bucket the server uses',
    );
  });
}

test('the data lives on declared named volumes: the server at its data_dir, MinIO at the path it serves', (t) => {
  const declared = Object.keys(compose.volumes ?? {});
  for (const [name, service] of Object.entries(services)) {
    for (const v of namedVolumes(service)) t.true(declared.includes(v.source), `${name} mounts undeclared volume ${v.source}`);
  }
  t.deepEqual(
    namedVolumes(server).map((v) => v.target),
    [environmentOf(server, {}).TFM_DATA_DIR],
  );
  const minioData = (services.minio!.command as string[])[1];
  t.deepEqual(
    namedVolumes(services.minio!).map((v) => v.target),
    [minioData],
  );
});

test('the server starts after the bucket exists, and the one-shot after MinIO is healthy', (t) => {
  t.is(server.depends_on?.createbucket?.condition, 'service_completed_successfully');
  t.is(services.createbucket!.depends_on?.minio?.condition, 'service_healthy');
  t.truthy(services.minio!.healthcheck?.test);
});
