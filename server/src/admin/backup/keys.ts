/**
 * Where backups live in the object store and how their keys read. The UTC
 * timestamp in the name sorts lexicographically, so "latest" is the greatest
 * key, whatever order a store lists in.
 */
import type { ObjectStore } from '../../storage/store.js';

export const BACKUP_PREFIX = 'backups/';
const NAME = /^backups\/tfmirror-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z\.db$/;

export interface BackupInfo {
  key: string;
  bytes: number;
  /** ISO 8601: when the snapshot was taken (from the key), else when the object was written. */
  createdAt: string;
}

/** backups/tfmirror-20240102T030405.678Z.db — milliseconds keep two backups in one second apart. */
export function backupKey(at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '');
  return `${BACKUP_PREFIX}tfmirror-${stamp}.db`;
}

export function isBackupKey(key: string): boolean {
  return NAME.test(key);
}

export function backupTime(key: string): Date | undefined {
  const m = NAME.exec(key);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m;
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
}

/** Backups held in the store, newest first. */
export async function listBackups(store: ObjectStore): Promise<BackupInfo[]> {
  const found: BackupInfo[] = [];
  for await (const o of store.list(BACKUP_PREFIX)) {
    if (!isBackupKey(o.key)) continue;
    found.push({ key: o.key, bytes: o.size, createdAt: (backupTime(o.key) ?? o.lastModified).toISOString() });
  }
  return found.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
}
