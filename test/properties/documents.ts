/** Valid documents, printed: provider definitions in each format, and configuration files. */

import fc from 'fast-check';
import type { ProviderModel } from './arbitraries.js';

const q = (s: string): string => JSON.stringify(s);
export const sourceOf = (p: ProviderModel): string => (p.hostname ? `${p.hostname}/` : '') + `${p.namespace}/${p.type}`;

export function toHcl(models: readonly ProviderModel[]): string {
  return models
    .map((p) =>
      [
        `provider ${q(sourceOf(p))} {`,
        `  versions  = [${p.versions.map(q).join(', ')}]`,
        ...(p.latest === undefined ? [] : [`  latest    = ${p.latest}`]),
        `  platforms = [${p.platforms.map(q).join(', ')}]`,
        '}',
        '',
      ].join('\n'),
    )
    .join('\n');
}

export function toYaml(models: readonly ProviderModel[]): string {
  const items = models.map((p) =>
    [
      `  - source: ${q(sourceOf(p))}`,
      `    versions: [${p.versions.map(q).join(', ')}]`,
      ...(p.latest === undefined ? [] : [`    latest: ${p.latest}`]),
      '    platforms:',
      ...p.platforms.map((x) => `      - ${x}`),
    ].join('\n'),
  );
  return `# mirrored providers\nproviders:\n${items.join('\n')}\n`;
}

export function toJson(models: readonly ProviderModel[]): string {
  return JSON.stringify({ providers: models.map((p) => ({ ...p, hostname: undefined, source: sourceOf(p), namespace: undefined, type: undefined })) }, null, 2);
}

/** Valid lines per block; a document is a random selection of them. */
const BLOCKS: Record<string, string[]> = {
  server: [
    'listen = "0.0.0.0:8443"',
    'public_url = "https://mirror.example.com/base/"',
    'tls = false',
    'shutdown_timeout = "15s"',
    'idle_timeout = 120',
    'max_connections = 100',
    'trusted_proxies = ["10.0.0.0/8"]',
  ],
  database: ['path = "db/tfmirror.db"'],
  storage: ['type = "filesystem"', 'path = "store"', 'presign_ttl = "1h"', 'region = "eu-west-1"'],
  pull_through: ['enabled = true', 'include = ["registry.terraform.io/hashicorp/*"]', 'exclude = []'],
  auth: ['bcrypt_cost = 10', 'session_ttl = "2h"', 'jwt_secret = "s3cret-s3cret-s3cret"'],
  audit: ['retention_days = 30'],
  jobs: ['concurrency = 2', 'max_attempts = 3'],
  operator: ['server_url = "http://127.0.0.1:8080"', 'namespace = "tfm"'],
  limits: ['zip_max_uncompressed_bytes = "1GiB"', 'zip_max_entries = 500', 'zip_max_ratio = 50'],
  log: ['level = "debug"'],
};
const TOP_LEVEL = ['data_dir = "./state"', '# a comment', '// another', '/* block */'];
const UPSTREAMS = ['upstream "registry.terraform.io" {\n  url = "https://registry.terraform.io/"\n}', 'upstream "example.com:8443" {\n  url = "https://example.com:8443/"\n}'];

export const validConfig: fc.Arbitrary<string> = fc
  .tuple(
    fc.subarray(TOP_LEVEL),
    fc.subarray(Object.keys(BLOCKS)).chain((names) =>
      fc.tuple(...names.map((name) => fc.subarray(BLOCKS[name]!, { minLength: 1 }).map((lines) => `${name} {\n${lines.map((l) => `  ${l}`).join('\n')}\n}`))),
    ),
    fc.subarray(UPSTREAMS),
  )
  .map(([top, blocks, upstreams]) => [...top, ...blocks, ...upstreams].join('\n\n') + '\n');

