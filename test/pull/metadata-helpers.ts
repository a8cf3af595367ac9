import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Database, openDatabase } from '../../server/src/db/database.js';
import { UpstreamCacheRepository } from '../../server/src/db/upstream-cache.js';
import { CachedUpstreamMetadata, PULL_METADATA_HTTP, type UpstreamMetadataOptions } from '../../server/src/pull/metadata.js';
import { RegistryClients } from '../../server/src/upstream/registry.js';
import type { FakeRegistry } from '../fixtures/fake-registry.js';

/** The fake registry stands in for registry.terraform.io, as a configured upstream would. */
export const HOST = 'registry.terraform.io';
export const TTL_MS = 10 * 60 * 1000;
export const STALE_MS = 60 * 60 * 1000;

export interface MetadataUnderTest {
  metadata: CachedUpstreamMetadata;
  cache: UpstreamCacheRepository;
  clock: { t: number };
  dbFile: string;
  /** A new instance on the same database file, as after a restart. */
  reopen(options?: Partial<UpstreamMetadataOptions>): Promise<MetadataUnderTest>;
  close(): Promise<void>;
}

const dirs: string[] = [];

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export async function metadataFor(registry: FakeRegistry, options: Partial<UpstreamMetadataOptions> = {}, dbFile?: string): Promise<MetadataUnderTest> {
  let file = dbFile;
  if (file === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-metadata-'));
    dirs.push(dir);
    file = path.join(dir, 'tfmirror.db');
  }
  const db: Database = openDatabase(file);
  const clock = { t: 1_700_000_000_000 };
  const clients = new RegistryClients({ [HOST]: { url: registry.url } }, { ca: registry.caPem, ...PULL_METADATA_HTTP, now: () => clock.t });
  const cache = new UpstreamCacheRepository(db);
  const metadata = new CachedUpstreamMetadata({
    registry: (h) => clients.get(h),
    cache,
    metadataTtlMs: TTL_MS,
    staleIfErrorMs: STALE_MS,
    hostnames: [HOST],
    now: () => clock.t,
    ...options,
  });
  const self: MetadataUnderTest = {
    metadata,
    cache,
    clock,
    dbFile: file,
    reopen: async (more = {}) => {
      await self.close();
      const next = await metadataFor(registry, { ...options, ...more }, file);
      next.clock.t = clock.t;
      return next;
    },
    async close() {
      await metadata.close();
      clients.close();
      if (db.open) db.close();
    },
  };
  return self;
}

export const NULL_PROVIDER = { hostname: HOST, namespace: 'hashicorp', type: 'null' };
