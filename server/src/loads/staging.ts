import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Local staging for downloads: an archive is written here while its sha256 is
 * computed, checked, and only then published to the object store. Staging
 * files are never visible to clients; ones left by a killed process are swept.
 */
export class StagingArea {
  constructor(readonly dir: string) {}

  /**
   * Sweeps what crashed processes left: files of a pid that no longer runs
   * (names start with the writer's pid), and anything older than maxAgeMs.
   * Returns how many files it removed.
   */
  init(maxAgeMs = 60 * 60 * 1000, now = Date.now()): number {
    fs.mkdirSync(this.dir, { recursive: true });
    let removed = 0;
    for (const name of fs.readdirSync(this.dir)) {
      const file = path.join(this.dir, name);
      const stat = fs.statSync(file, { throwIfNoEntry: false });
      const pid = Number(name.split('-')[0]);
      if (stat && (now - stat.mtimeMs > maxAgeMs || !isRunning(pid))) {
        fs.rmSync(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  /** Streams `body` to a new staging file; resolves with its path, size and sha256. */
  async write(body: NodeJS.ReadableStream, signal: AbortSignal, onBytes: (n: number) => void): Promise<{ file: string; size: number; sha256: string }> {
    const file = this.newPath();
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        onBytes(chunk.length);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, fs.createWriteStream(file), { signal });
    } catch (err) {
      fs.rmSync(file, { force: true });
      throw err;
    }
    return { file, size, sha256: hash.digest('hex') };
  }

  /** A fresh staging file name, for writers that manage the file themselves (pull-through follows it while it grows). */
  newPath(): string {
    // The writer's pid first: init() removes what a process that no longer runs left.
    return path.join(this.dir, `${process.pid}-${Date.now()}-${randomBytes(6).toString('hex')}.zip`);
  }

  remove(file: string): void {
    fs.rmSync(file, { force: true });
  }
}

/**
 * A directory of this process's own under `root` (named by its pid), after
 * removing the ones of processes that no longer run: for writers whose files
 * are not named by pid (the module fetcher's work trees and packed archives).
 */
export function processDirectory(root: string): string {
  fs.mkdirSync(root, { recursive: true });
  for (const name of fs.readdirSync(root)) {
    const pid = Number(name);
    if (pid !== process.pid && !isRunning(pid)) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
  const own = path.join(root, String(process.pid));
  fs.mkdirSync(own, { recursive: true });
  return own;
}

export function isRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
