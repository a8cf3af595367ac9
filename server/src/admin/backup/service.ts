import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Database } from '../../db/database.js';
import { Conflict, IntegrityError } from '../../errors.js';
import type { ObjectStore } from '../../storage/store.js';
import { backupKey, listBackups, type BackupInfo } from './keys.js';

export interface BackupServiceOptions {
  db: Database;
  store: ObjectStore;
  /**
   * Where the snapshot is written before upload. Default: the database's own
   * directory, which is writable and sized for the database (a container's
   * /tmp is often neither).
   */
  tempDir?: string;
  now?: () => Date;
}

const TEMP_PREFIX = '.tfmirror-backup-';
/** A temp file this old belongs to a backup that died with its process. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * Online backups of the SQLite database into the object store, so the
 * database survives the loss of its volume together with the packages.
 */
export class BackupService {
  private readonly db: Database;
  private readonly store: ObjectStore;
  private readonly tempDir: string;
  private readonly now: () => Date;
  private running = false;

  constructor(opts: BackupServiceOptions) {
    this.db = opts.db;
    this.store = opts.store;
    this.tempDir = opts.tempDir ?? (opts.db.memory ? os.tmpdir() : path.dirname(path.resolve(opts.db.name)));
    this.now = opts.now ?? (() => new Date());
  }

  /**
   * Snapshots the database with SQLite's online backup API (a consistent copy
   * while the server keeps serving; better-sqlite3 copies it in one step on
   * this connection, so no write can interleave), then uploads it. One backup
   * at a time: a second request while one runs is a Conflict.
   */
  async backup(opts: { signal?: AbortSignal } = {}): Promise<BackupInfo> {
    if (this.running) throw new Conflict('a backup is already running; try again when it has finished');
    this.running = true;
    const temp = path.join(this.tempDir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}.db`);
    try {
      await this.sweepStaleTemps();
      opts.signal?.throwIfAborted();
      await this.db.backup(temp);
      opts.signal?.throwIfAborted();
      const createdAt = this.now();
      const { size } = await stat(temp);
      if (size === 0) throw new IntegrityError('the database snapshot is empty');
      const key = backupKey(createdAt);
      const stored = await this.store.put(key, createReadStream(temp), {
        size,
        contentType: 'application/vnd.sqlite3',
        signal: opts.signal,
      });
      // put() already refuses a length mismatch; this guards an adapter that does not.
      if (stored.size !== size) throw new IntegrityError(`backup ${key} stored ${stored.size} bytes, expected ${size}`);
      return { key, bytes: size, createdAt: createdAt.toISOString() };
    } finally {
      this.running = false;
      await removeDatabaseFiles(temp);
    }
  }

  list(): Promise<BackupInfo[]> {
    return listBackups(this.store);
  }

  private async sweepStaleTemps(): Promise<void> {
    const cutoff = Date.now() - STALE_TEMP_MS;
    const names = await readdir(this.tempDir).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const file = path.join(this.tempDir, name);
      const info = await stat(file).catch(() => null);
      if (info && info.mtimeMs < cutoff) await rm(file, { force: true });
    }
  }
}

/** A database file and the WAL and shared-memory files SQLite may keep beside it. */
export async function removeDatabaseFiles(file: string): Promise<void> {
  await Promise.all(['', '-wal', '-shm', '-journal'].map((suffix) => rm(file + suffix, { force: true })));
}
