/** Shared by the module admin tests: the admin world with a module repository, and module versions seeded as an ingest records them. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ModuleRepository } from '../../../server/src/db/modules.js';
import { moduleArchiveKey } from '../../../server/src/modules/ingest.js';
import type { ModuleAddress, ModuleHolder } from '../../../server/src/modules/ports.js';
import { createWorld, type World } from '../routes/helpers.js';

export interface ModuleWorld extends World {
  modules: ModuleRepository;
}

export async function createModuleWorld(): Promise<ModuleWorld> {
  const world = await createWorld();
  return Object.assign(world, { modules: new ModuleRepository(world.db) });
}

export interface SeedModule {
  address: ModuleAddress;
  version: string;
  size: number;
  git?: { url: string; ref: string; commit: string };
  holder?: ModuleHolder;
  downloads?: number;
}

export const address = (namespace: string, name: string, system: string, hostname = 'registry.terraform.io'): ModuleAddress => ({
  hostname,
  namespace,
  name,
  system,
});

/** Stores an archive of `size` bytes under its content-addressed key and records the version with its holder. */
export async function seedModule(w: ModuleWorld, m: SeedModule): Promise<{ versionId: number; moduleId: number; archiveKey: string }> {
  const bytes = Buffer.alloc(m.size, `${m.address.name}@${m.version}`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const archiveKey = moduleArchiveKey(m.address, m.version, sha256);
  await w.store.put(archiveKey, Readable.from([bytes]), { size: bytes.length });
  const location = m.git
    ? `git::${m.git.url}?ref=${m.git.ref}`
    : `https://codeload.example.com/${m.address.namespace}/${m.address.name}/tar.gz/v${m.version}`;
  const { row } = w.modules.recordVersion(
    m.address,
    {
      version: m.version,
      location,
      sourceKind: m.git ? 'git' : 'archive',
      ...(m.git ? { commit: m.git.commit } : {}),
      archiveKey,
      sha256,
      size: bytes.length,
      files: 3,
    },
    m.holder ?? { kind: 'loaded' },
    Date.parse('2026-01-01T00:00:00Z'),
  );
  for (let i = 0; i < (m.downloads ?? 0); i += 1) w.modules.countDownload(row.id, Date.parse('2026-01-02T03:04:05Z'));
  return { versionId: row.id, moduleId: row.moduleId, archiveKey };
}
