/**
 * The disk cache's file work: copying an archive to a temp file while hashing
 * it, and re-hashing a cached copy. Kept apart from the cache's bookkeeping
 * (disk-cache.ts), which decides when these run.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError } from '../errors.js';

import { READ_BUFFER } from './store.js';

export { READ_BUFFER };

/**
 * Writes body to `temp` (which must not exist), checking it has exactly the
 * recorded size and sha256, and makes it durable; returns the byte count.
 * Rejects with IntegrityError otherwise; the caller removes the temp file.
 */
export async function writeVerified(body: Readable, temp: string, key: string, expect: { sha256: string; size: number }): Promise<number> {
  const hash = createHash('sha256');
  let bytes = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      // More bytes than recorded: stop the download instead of filling the disk.
      cb(bytes > expect.size ? new IntegrityError(`object ${JSON.stringify(key)}: more than the recorded ${expect.size} bytes`) : null, chunk);
    },
  });
  await pipeline(body, hasher, createWriteStream(temp, { flags: 'wx', highWaterMark: READ_BUFFER }));
  const digest = hash.digest('hex');
  if (digest !== expect.sha256 || bytes !== expect.size) {
    throw new IntegrityError(`object ${JSON.stringify(key)}: store holds ${bytes} bytes with sha256 ${digest}, recorded ${expect.size} bytes with ${expect.sha256}`);
  }
  // Durable before it gets its final name: after a power loss a final name never holds unwritten blocks.
  // fsync acts on the file, so a second descriptor does (a FileHandle's own write stream leaves sync() pending).
  const handle = await open(temp, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return bytes;
}

export async function hashFile(file: string): Promise<string> {
  const handle = await open(file, 'r');
  const hash = createHash('sha256');
  for await (const chunk of handle.createReadStream({ highWaterMark: READ_BUFFER })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
