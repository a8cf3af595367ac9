/**
 * Packs a checked module tree as a normalized tar.gz: the same tree gives the
 * same bytes whatever the file system's order, timestamps, owners or umask,
 * so a re-fetch of an unchanged tag is recognizably the same package (its
 * sha256 is the identity the mirror records). Entries are sorted by path in
 * byte order, carry only the executable bit of their mode (0644/0755,
 * directories 0755), uid/gid 0 with empty names and mtime 0; long paths use
 * the ustar prefix or a pax record, both deterministic; gzip at a fixed level
 * with no name, mtime 0 and a fixed OS byte.
 */

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tarStream from 'tar-stream';
import { InvalidInput } from '../errors.js';

export interface PackedTree {
  /** Lowercase hex sha256 of the tar.gz. */
  sha256: string;
  size: number;
  files: number;
}

interface PackEntry {
  /** Relative, `/`-separated; directories end with `/` (as stored in the tar, and sorted that way). */
  name: string;
  abs: string;
  type: 'file' | 'directory';
  mode: number;
  size: number;
}

const EPOCH = new Date(0);
const GZIP_LEVEL = 9;
/** RFC 1952 OS byte: zlib writes its build platform's; "Unix" always. */
const GZIP_OS_UNIX = 3;

/** Writes `dir` (already through checkTree: files and directories only) to `out` as a normalized tar.gz. */
export async function packTree(dir: string, out: string, signal?: AbortSignal): Promise<PackedTree> {
  const entries = await listTree(dir);
  entries.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const pack = tarStream.pack();
  const sha256 = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _enc, done) {
      // Byte 9 of the stream, in whichever chunk it arrives.
      if (size <= 9 && size + chunk.length > 9) chunk[9 - size] = GZIP_OS_UNIX;
      sha256.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const writing = pipeline(pack, zlib.createGzip({ level: GZIP_LEVEL }), measure, createWriteStream(out, { flags: 'wx' }), { signal });
  const feeding = (async () => {
    for (const e of entries) {
      signal?.throwIfAborted();
      const header = { name: e.name, type: e.type, mode: e.mode, size: e.size, mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '' };
      if (e.type === 'directory') {
        await new Promise<void>((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
        const source = createReadStream(e.abs);
        source.on('error', (err) => {
          sink.destroy(err);
          reject(err);
        });
        source.pipe(sink as unknown as NodeJS.WritableStream);
      });
    }
    pack.finalize();
  })();
  try {
    await Promise.all([writing, feeding]);
  } catch (err) {
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
    await Promise.allSettled([writing, feeding]);
    throw err;
  }
  return { sha256: sha256.digest('hex'), size, files: entries.filter((e) => e.type === 'file').length };
}

async function listTree(root: string): Promise<PackEntry[]> {
  const entries: PackEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await fs.readdir(path.join(root, rel))) {
      if (name === '.git') continue;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(root, childRel);
      const st = await fs.lstat(abs);
      if (st.isDirectory()) {
        entries.push({ name: `${childRel}/`, abs, type: 'directory', mode: 0o755, size: 0 });
        await walk(childRel);
      } else if (st.isFile()) {
        entries.push({ name: childRel, abs, type: 'file', mode: st.mode & 0o111 ? 0o755 : 0o644, size: st.size });
      } else {
        // checkTree leaves only files and directories; anything else here is a bug upstream of packing.
        throw new InvalidInput(`entry ${JSON.stringify(childRel)} is neither a file nor a directory`);
      }
    }
  };
  await walk('');
  return entries;
}
