/** A temp data directory with a database holding providers, packages and audit rows, and a filesystem store. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../server/src/config/load.js';
import type { Config } from '../../../server/src/config/types.js';
import { AuditRepository } from '../../../server/src/db/audit.js';
import { openDatabase, type Database } from '../../../server/src/db/database.js';
import { ProviderRepository } from '../../../server/src/db/providers.js';
import { FilesystemStore } from '../../../server/src/storage/index.js';

export interface DataDir {
  dir: string;
  config: Config;
  store: FilesystemStore;
  open(): Database;
  cleanup(): void;
}

export async function dataDir(): Promise<DataDir> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-backup-'));
  const config = await loadConfig({ env: { TFM_DATA_DIR: dir }, cwd: dir });
  if (config.storage.type !== 'filesystem') throw new Error('expected filesystem storage');
  const store = new FilesystemStore({ path: config.storage.path });
  await store.init();
  return { dir, config, store, open: () => openDatabase(config.database.path), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Adds `n` packages of hashicorp/<type> and one audit row per package. */
export function writeRows(db: Database, type: string, n: number): void {
  const providers = new ProviderRepository(db);
  const audit = new AuditRepository(db);
  for (let i = 0; i < n; i++) {
    providers.recordPackage({
      provider: { hostname: 'registry.terraform.io', namespace: 'hashicorp', type },
      version: `1.0.${i}`,
      origin: 'imported',
      os: 'linux',
      arch: 'amd64',
      filename: `terraform-provider-${type}_1.0.${i}_linux_amd64.zip`,
      size: 1000 + i,
      sha256: `${type}${i}`.padEnd(64, '0'),
      h1: `h1:${type}${i}`,
      objectKey: `providers/registry.terraform.io/hashicorp/${type}/1.0.${i}/linux_amd64.zip`,
    });
    audit.insert({ actor: 'user:alice', action: 'provider.load', resource: `${type}:${i}`, outcome: 'success', details: '{"n":1}' }, 1_700_000_000_000 + i);
  }
}

const TABLES = ['providers', 'provider_versions', 'provider_packages', 'audit_log', 'schema_migrations'];

/** Every row of the tables that matter, in id order: equal snapshots mean equal contents. */
export function snapshot(db: Database): Record<string, unknown[]> {
  return Object.fromEntries(TABLES.map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all()]));
}
