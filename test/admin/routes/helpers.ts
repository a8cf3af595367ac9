/** Shared by the admin route tests: a Koa app around the declared routes, a seeded mirror, an in-memory upstream. */
import type { PackageHolder } from '../../../server/src/db/package-holders.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Koa from 'koa';
import pino from 'pino';
import { buildAdminRouter, type AuditEntry } from '../../../server/src/admin/framework/router.js';
import type { RouteSpec } from '../../../server/src/admin/framework/route.js';
import type { Principal } from '../../../server/src/admin/principal.js';
import { openDatabase, type Database } from '../../../server/src/db/database.js';
import { JobRepository } from '../../../server/src/db/jobs.js';
import { ProviderRepository } from '../../../server/src/db/providers.js';
import { NotFound } from '../../../server/src/errors.js';
import { errorHandler } from '../../../server/src/http/middleware/errors.js';
import { requestContext } from '../../../server/src/http/middleware/request-context.js';
import { parseSourceAddress } from '../../../server/src/providers/address.js';
import { packageKey, shasumsKey, signatureKey, signingKeysKey } from '../../../server/src/providers/keys.js';
import { FilesystemStore } from '../../../server/src/storage/filesystem.js';
import type { UpstreamVersion } from '../../../server/src/upstream/documents.js';
import type { ProviderRegistry } from '../../../server/src/upstream/registry.js';

export const PRINCIPALS: Record<string, Principal> = {
  'admin-token': { kind: 'token', actor: 'token:admin', role: 'admin' },
  'viewer-token': { kind: 'token', actor: 'token:viewer', role: 'viewer' },
  'operator-token': { kind: 'bootstrap', actor: 'operator-token', role: 'operator' },
};

export interface Call {
  token?: string;
  body?: unknown;
  /** Sent as is when a string; JSON-encoded otherwise. */
  contentType?: string;
}

export interface AdminServer {
  audit: AuditEntry[];
  call(method: string, path: string, c?: Call): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export async function startAdmin(routes: RouteSpec[]): Promise<AdminServer> {
  const audit: AuditEntry[] = [];
  const app = new Koa();
  app.silent = true;
  app.use(requestContext(pino({ level: 'silent' })));
  app.use(errorHandler());
  const router = buildAdminRouter(routes, {
    authenticate: async (bearer) => PRINCIPALS[bearer],
    audit: (entry) => audit.push(entry),
  });
  app.use(router.routes());
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/api`;
  return {
    audit,
    async call(method, urlPath, c = {}) {
      const headers: Record<string, string> = {};
      if (c.token) headers.authorization = `Bearer ${c.token}`;
      let body: string | undefined;
      if (c.body !== undefined) {
        body = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
        headers['content-type'] = c.contentType ?? 'application/json';
      }
      const res = await fetch(base + urlPath, { method, headers, body });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface World {
  dir: string;
  db: Database;
  providers: ProviderRepository;
  jobs: JobRepository;
  store: FilesystemStore;
  invalidations: number;
  invalidate(): void;
  close(): void;
}

export async function createWorld(): Promise<World> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-admin-'));
  const db = openDatabase(':memory:');
  const store = new FilesystemStore({ path: dir });
  await store.init();
  const world: World = {
    dir,
    db,
    providers: new ProviderRepository(db),
    jobs: new JobRepository(db),
    store,
    invalidations: 0,
    invalidate: () => void world.invalidations++,
    close() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

export interface SeedPackage {
  source: string;
  version: string;
  platform: string;
  size: number;
  downloads?: number;
  /** Who brought it (default: an admin load). */
  holder?: PackageHolder;
}

/** Stores a package's zip, SHA256SUMS, .sig and signing keys, and records the rows, as a load would. */
export async function seedPackage(w: World, p: SeedPackage): Promise<void> {
  const addr = parseSourceAddress(p.source);
  const [os_, arch] = p.platform.split('_') as [string, string];
  const filename = `terraform-provider-${addr.type}_${p.version}_${p.platform}.zip`;
  const objectKey = packageKey(addr, p.version, filename);
  const put = (key: string, bytes: number) => w.store.put(key, Readable.from([Buffer.alloc(bytes, 1)]), { size: bytes });
  await put(objectKey, p.size);
  const evidence = { shasumsKey: shasumsKey(addr, p.version), signatureKey: signatureKey(addr, p.version), keyIds: ['34365D9472D7468F'] };
  await put(evidence.shasumsKey, 10);
  await put(evidence.signatureKey, 10);
  await put(signingKeysKey(addr, p.version), 10);
  w.providers.recordPackage({
    provider: addr,
    version: p.version,
    origin: 'loaded',
    protocols: ['5.0'],
    os: os_,
    arch,
    filename,
    size: p.size,
    sha256: createHash('sha256').update(filename).digest('hex'),
    h1: 'h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    objectKey,
    evidence,
    holder: p.holder,
  });
  if (p.downloads) {
    const pkg = w.providers.findPackage(addr, p.version, os_, arch)!;
    w.providers.addDownloads(new Map([[pkg.id, p.downloads]]), new Date('2025-01-02T03:04:05.000Z'));
  }
}

/** Every object key in the store (the temp dir is not an object). */
export async function storedKeys(w: World, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of w.store.list(prefix)) keys.push(o.key);
  return keys.sort();
}

/**
 * The upstream port in memory: `versions` maps "hostname/namespace/type" to
 * what its versions endpoint lists; anything else is NotFound, as the real
 * client reports a provider the registry lacks. Only listVersions is used by planning.
 */
export function fakeRegistries(versions: Record<string, UpstreamVersion[]>) {
  const calls: string[] = [];
  const unused = () => Promise.reject(new Error('not used by planning'));
  return {
    calls,
    get(hostname: string): ProviderRegistry {
      return {
        hostname,
        async listVersions(namespace, type) {
          const source = `${hostname}/${namespace}/${type}`;
          calls.push(source);
          const list = versions[source];
          if (!list) throw new NotFound(`provider ${source} not found upstream`);
          return { versions: list, problems: [], warnings: [] };
        },
        downloadInfo: unused,
        fetchBytes: unused,
        download: unused,
      };
    },
  };
}
