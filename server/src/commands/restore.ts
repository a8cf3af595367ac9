/**
 * `tfmirror restore KEY|latest`: replaces the database with a backup taken by
 * POST /admin/api/backup. Stop `serve` (and any import or load) first: a
 * running server would keep writing to the file it has open, which this
 * command moves aside. The command checks this as far as SQLite allows (a
 * WAL database cannot be locked exclusively while another process has it
 * open) and refuses when it is in use.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import BetterSqlite3 from 'better-sqlite3';
import { BACKUP_PREFIX, listBackups } from '../admin/backup/keys.js';
import { removeDatabaseFiles } from '../admin/backup/service.js';
import type { Config } from '../config/types.js';
import { migrations } from '../db/migrations.js';
import { Conflict, IntegrityError, NotFound } from '../errors.js';
import { createObjectStore } from '../storage/index.js';
import type { ObjectStore } from '../storage/store.js';

const SIDE_FILES = ['-wal', '-shm'] as const;

export interface RestoreOutput {
  write(text: string): unknown;
}

/** Returns the exit code; refusals are thrown as typed errors the CLI prints in one line. */
export async function restoreCommand(keyOrLatest: string, config: Config, out: RestoreOutput = process.stdout): Promise<number> {
  const dbPath = path.resolve(config.database.path);
  const store = await createObjectStore(config.storage);
  const key = await resolveKey(store, keyOrLatest);
  await mkdir(path.dirname(dbPath), { recursive: true });
  // Downloaded next to the database so the final rename stays on one filesystem.
  const temp = `${dbPath}.restore-${randomBytes(6).toString('hex')}`;
  try {
    const bytes = await download(store, key, temp);
    const schema = checkBackup(temp, key);
    out.write(`downloaded ${key} (${bytes} bytes, schema version ${schema}, integrity ok)\n`);
    assertNotInUse(dbPath);
    const aside = await moveAside(dbPath, stamp(new Date()));
    await putInPlace(temp, dbPath, aside);
    if (aside.length > 0) out.write(`moved the previous database aside: ${aside.join(', ')}\n`);
    out.write(`restored ${dbPath} from ${key}\n`);
    return 0;
  } finally {
    await removeDatabaseFiles(temp);
  }
}

/** "latest", a full key, or a bare backup file name (looked up under backups/). */
async function resolveKey(store: ObjectStore, keyOrLatest: string): Promise<string> {
  if (keyOrLatest !== 'latest') return keyOrLatest.includes('/') ? keyOrLatest : BACKUP_PREFIX + keyOrLatest;
  const [newest] = await listBackups(store);
  if (!newest) throw new NotFound(`there are no backups under ${BACKUP_PREFIX} in the ${store.kind} store`);
  return newest.key;
}

async function download(store: ObjectStore, key: string, file: string): Promise<number> {
  const object = await store.get(key);
  await pipeline(object.body, createWriteStream(file, { flags: 'wx' }));
  const { size } = await stat(file);
  if (size !== object.totalSize) throw new IntegrityError(`downloaded ${size} bytes of ${key}, expected ${object.totalSize}`);
  return size;
}

/**
 * Proves the file is a complete tfmirror database before anything is moved:
 * SQLite opens it, integrity_check says ok, and schema_migrations is there
 * with no version this build does not know. Returns the schema version.
 */
function checkBackup(file: string, key: string): number {
  let db: BetterSqlite3.Database | undefined;
  try {
    // Read-write on our private copy, so SQLite can recover a WAL header and clean up on close.
    db = new BetterSqlite3(file, { fileMustExist: true });
    const result = db.pragma('integrity_check') as { integrity_check: string }[];
    const problems = result.map((r) => r.integrity_check).filter((r) => r !== 'ok');
    if (problems.length > 0) throw new IntegrityError(`${key} is a damaged SQLite database: ${problems.slice(0, 3).join('; ')}`);
    const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
    if (!table) throw new IntegrityError(`${key} is a SQLite database but not a tfmirror one (no schema_migrations table)`);
    const { version } = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
    const known = Math.max(...migrations.map((m) => m.version));
    if ((version ?? 0) > known) {
      throw new IntegrityError(`${key} has schema version ${version}, newer than this tfmirror knows (${known}): restore it with a newer tfmirror`);
    }
    return version ?? 0;
  } catch (err) {
    if (err instanceof IntegrityError) throw err;
    throw new IntegrityError(`${key} is not a usable SQLite database: ${(err as Error).message}`, { cause: err });
  } finally {
    db?.close();
  }
}

/**
 * Refuses while another process has the database open. In WAL mode every
 * open connection holds a lock on the shared-memory file, so taking an
 * EXCLUSIVE lock without waiting fails with SQLITE_BUSY exactly then. Closing
 * this connection also checkpoints the WAL into the file we move aside.
 */
function assertNotInUse(dbPath: string): void {
  if (!existsSync(dbPath)) return;
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(dbPath, { fileMustExist: true });
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new Conflict(`the database ${dbPath} is in use by another process: stop 'tfmirror serve' (and any import or load) first`);
    }
    // A damaged current database is a reason to restore, not to refuse.
  } finally {
    db?.close();
  }
}

/** Renames the database and its WAL/SHM files to <path>.before-restore-<ts>[-wal|-shm]; returns the new names. */
async function moveAside(dbPath: string, ts: string): Promise<string[]> {
  const moved: string[] = [];
  for (const suffix of ['', ...SIDE_FILES]) {
    if (!existsSync(dbPath + suffix)) continue;
    const target = `${dbPath}.before-restore-${ts}${suffix}`;
    await rename(dbPath + suffix, target);
    moved.push(target);
  }
  return moved;
}

/** Renames the checked copy into place; if that fails, puts the previous files back. */
async function putInPlace(temp: string, dbPath: string, aside: string[]): Promise<void> {
  try {
    await rename(temp, dbPath);
  } catch (err) {
    for (const file of aside) {
      const suffix = SIDE_FILES.find((s) => file.endsWith(s)) ?? '';
      await rename(file, dbPath + suffix).catch(() => undefined);
    }
    throw err;
  }
}

function stamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '');
}
