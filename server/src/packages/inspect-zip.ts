/**
 * Inspects an untrusted provider package zip on local disk: computes its h1
 * hash exactly as Terraform does (Go dirhash.HashZip + Hash1) and refuses
 * archives that are unsafe or too large, before spending effort on them.
 *
 * Fidelity to Go's dirhash.HashZip (golang.org/x/mod/sumdb/dirhash):
 * - every central-directory entry is hashed, directory entries ("name/")
 *   included: HashZip has no directory filter, and Go's zip reader opens a
 *   directory as zero bytes (an error if it declares a non-zero size), so a
 *   directory contributes the sha256 of the empty string;
 * - names are the raw bytes of the central directory (Go does no CP437
 *   decoding and ignores the Info-ZIP Unicode Path field), hence
 *   `decodeStrings: false` here; we accept only names that are valid UTF-8,
 *   so the string we hash has exactly those bytes;
 * - Go's zip reader checks each entry's CRC-32 (when it is non-zero) and fails
 *   the hash on mismatch; yauzl does not, so we do.
 * Deliberately stricter than Go: unsafe names, duplicate names, control
 * characters, encryption and the size/count/ratio limits are refused here,
 * while Go would hash them (for duplicates, Go hashes the last entry's
 * content under both lines).
 */

import { createHash } from 'node:crypto';
import fs, { type FileHandle } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import { DomainError, IntegrityError, LimitExceeded } from '../errors.js';
import { h1FromEntries } from '../providers/hashes.js';
import { crc32 } from './crc32.js';
import { isSystemError, METHOD_DEFLATED, METHOD_STORED, notAValidZip, openZip, S_IFLNK, S_IFMT, utf8Name } from './zip-open.js';

export interface InspectZipLimits {
  /** Most central-directory entries accepted (directories included). */
  maxEntries: number;
  /** Most total uncompressed bytes accepted, as declared and as actually inflated. */
  maxUncompressedBytes: number;
  /** Largest uncompressed/compressed ratio accepted for an entry above 1 MiB. */
  maxRatio: number;
}

export interface ZipEntryDigest {
  /** The entry name as stored; directory entries end with "/" and have size 0. */
  name: string;
  size: number;
  sha256Hex: string;
}

export interface ZipInspection {
  /** Go dirhash.HashZip: what Terraform checks a downloaded archive against. */
  h1: string;
  /**
   * The same hash without directory entries: what Go dirhash.HashDir gives for
   * the unpacked package, which is what Terraform writes to
   * .terraform.lock.hcl after installing. Equal to `h1` unless the zip has
   * directory entries; when they differ, Terraform fails every install after
   * the first one that recorded a lock entry (checked with Terraform 1.11 and
   * a filesystem mirror), so callers should refuse or flag such packages.
   */
  h1Unpacked: string;
  /** Number of central-directory entries, directories included. */
  entries: number;
  uncompressedBytes: number;
  /** Every entry that contributes to h1, in central-directory order. */
  files: ZipEntryDigest[];
}

/** Small entries compress well legitimately (e.g. a LICENSE of spaces); only large ones can hurt. */
const RATIO_CHECK_MIN_BYTES = 1024 * 1024;
const EMPTY_SHA256 = createHash('sha256').digest('hex');

interface CheckedEntry {
  entry: yauzl.Entry;
  name: string;
}

export async function inspectZip(
  path: string,
  limits: InspectZipLimits,
  signal?: AbortSignal,
): Promise<ZipInspection> {
  signal?.throwIfAborted();
  let zipfile: yauzl.ZipFile;
  try {
    zipfile = await openZip(
      path,
      limits.maxEntries,
      (count) => `zip archive has ${count} entries, more than the limit of ${limits.maxEntries}`,
    );
  } catch (err) {
    throw classifyError(err, signal);
  }
  let file: FileHandle | undefined;
  try {
    const checked = await readCentralDirectory(zipfile, limits, signal);
    file = await fs.open(path, 'r');
    const files: ZipEntryDigest[] = [];
    let uncompressedBytes = 0;
    for (const { entry, name } of checked) {
      signal?.throwIfAborted();
      const digest = name.endsWith('/')
        ? { size: 0, sha256Hex: EMPTY_SHA256 }
        : await digestEntry(zipfile, file, entry, name, signal);
      uncompressedBytes += digest.size;
      files.push({ name, ...digest });
    }
    return {
      h1: h1FromEntries(files),
      h1Unpacked: h1FromEntries(files.filter((f) => !f.name.endsWith('/'))),
      entries: checked.length,
      uncompressedBytes,
      files,
    };
  } catch (err) {
    throw classifyError(err, signal);
  } finally {
    zipfile.close();
    await file?.close();
  }
}

/** Walks the central directory and applies every metadata check before any data is inflated. */
async function readCentralDirectory(
  zipfile: yauzl.ZipFile,
  limits: InspectZipLimits,
  signal: AbortSignal | undefined,
): Promise<CheckedEntry[]> {
  const checked: CheckedEntry[] = [];
  const seen = new Set<string>();
  let declaredTotal = 0;
  for await (const entry of zipfile.eachEntry()) {
    signal?.throwIfAborted();
    const name = entryName(entry);
    const label = JSON.stringify(name);
    if (seen.has(name)) {
      // Extractors disagree on which copy wins, so the bytes Terraform runs
      // could differ from the bytes we hashed.
      throw new IntegrityError(`duplicate entry name ${label} in zip archive`);
    }
    seen.add(name);
    if (entry.isEncrypted()) {
      throw new IntegrityError(`entry ${label} is encrypted; provider packages must not be`);
    }
    if (isSymlinkEntry(entry)) {
      // Unpacked, a link could point Terraform's plugin loader anywhere on the host.
      throw new IntegrityError(`entry ${label} is a symbolic link; provider packages must not contain links`);
    }
    if (entry.compressionMethod !== METHOD_STORED && entry.compressionMethod !== METHOD_DEFLATED) {
      // Go's zip reader (and so Terraform) only knows these two as well.
      throw new IntegrityError(
        `entry ${label} uses unsupported compression method ${entry.compressionMethod} (only stored and deflate)`,
      );
    }
    if (name.endsWith('/') && entry.uncompressedSize !== 0) {
      throw new IntegrityError(`directory entry ${label} declares ${entry.uncompressedSize} bytes of content`);
    }
    if (
      entry.uncompressedSize > RATIO_CHECK_MIN_BYTES &&
      entry.uncompressedSize > limits.maxRatio * entry.compressedSize
    ) {
      const ratio = entry.compressedSize === 0 ? 'unbounded' : Math.round(entry.uncompressedSize / entry.compressedSize);
      throw new LimitExceeded(
        `entry ${label} looks like a zip bomb: ${entry.compressedSize} bytes inflate to ${entry.uncompressedSize} ` +
          `(ratio ${ratio}, limit ${limits.maxRatio})`,
      );
    }
    declaredTotal += entry.uncompressedSize;
    if (declaredTotal > limits.maxUncompressedBytes) {
      throw new LimitExceeded(
        `zip archive declares more than ${limits.maxUncompressedBytes} uncompressed bytes ` +
          `(reached ${declaredTotal} at entry ${label})`,
      );
    }
    checked.push({ entry, name });
  }
  return checked;
}

/**
 * Unix mode bits live in the high half of the external attributes. Checked
 * whatever the "made by" system says: extractors such as bsdtar honour them anyway.
 */
function isSymlinkEntry(entry: yauzl.Entry): boolean {
  return ((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK;
}

/** Decodes and vets a raw entry name; anything an extractor could write outside its target is refused. */
function entryName(entry: yauzl.Entry): string {
  const name = utf8Name(entry);
  if (name === undefined) {
    throw new IntegrityError(`unsafe entry name ${JSON.stringify(entry.fileNameRaw.toString('latin1'))}: not valid UTF-8`);
  }
  const why = unsafeNameReason(name);
  if (why !== undefined) throw new IntegrityError(`unsafe entry name ${JSON.stringify(name)}: ${why}`);
  return name;
}

function unsafeNameReason(name: string): string | undefined {
  if (name === '') return 'empty name';
  // Control characters (NUL, newline, ...) truncate names in C APIs, break the
  // h1 summary format (Go refuses "\n") and corrupt logs.
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character';
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  if (name.split('/').includes('..')) return 'contains a ".." segment';
  return undefined;
}

/**
 * Inflating is the slow part of an ingest (a 200 MB provider zip holds
 * ~600 MB of binary), so it gets large buffers: the compressed range is read
 * 1 MiB at a time straight from the file and inflated into 1 MiB chunks.
 * yauzl's own entry stream moves 16 KiB at a time through four streams, which
 * made inflating about 1.8 times slower. yauzl still reads the local header
 * (and checks the data lies within the file).
 */
const DATA_CHUNK = 1 << 20;

async function digestEntry(
  zipfile: yauzl.ZipFile,
  file: FileHandle,
  entry: yauzl.Entry,
  name: string,
  signal: AbortSignal | undefined,
): Promise<{ size: number; sha256Hex: string }> {
  const label = JSON.stringify(name);
  const sha256 = createHash('sha256');
  let crc = 0;
  let size = 0;
  const take = (chunk: Buffer): void => {
    size += chunk.length;
    // Checked per chunk, so no more than one chunk past the declared size is ever hashed.
    if (size > entry.uncompressedSize) {
      throw new IntegrityError(`entry ${label} inflates to more than its declared ${entry.uncompressedSize} bytes`);
    }
    sha256.update(chunk);
    crc = crc32(chunk, crc);
  };
  try {
    const { fileDataStart } = await zipfile.readLocalFileHeaderPromise(entry, { minimal: true });
    const data = readRange(file, fileDataStart, entry.compressedSize);
    if (entry.compressionMethod === METHOD_STORED) {
      for await (const chunk of data) {
        signal?.throwIfAborted();
        take(chunk);
      }
    } else {
      // zlib hands over a chunk and only then starts inflating the next: hashing in a later
      // turn lets the next inflate run on the thread pool meanwhile (median 1.70 s instead of
      // 1.86 s for 594 MB, 8 alternating runs), with a few MiB buffered between them.
      const sink = new Writable({
        highWaterMark: 4 * DATA_CHUNK,
        write(chunk: Buffer, _encoding, done) {
          setImmediate(() => {
            try {
              take(chunk);
              done();
            } catch (err) {
              done(err as Error);
            }
          });
        },
      });
      const inflate = zlib.createInflateRaw({ chunkSize: DATA_CHUNK });
      await pipeline(Readable.from(data), inflate, sink, signal ? { signal } : {});
    }
  } catch (err) {
    throw entryError(err, label, signal);
  }
  if (size !== entry.uncompressedSize) {
    throw new IntegrityError(`entry ${label}: actual size does not match the declared size (inflates to ${size} bytes, declared ${entry.uncompressedSize})`);
  }
  // Go skips the check when the stored CRC is 0 (unknown); so do we.
  if (entry.crc32 !== 0 && crc !== entry.crc32) {
    throw new IntegrityError(`entry ${label} fails its CRC-32 check: corrupt data`);
  }
  return { size, sha256Hex: sha256.digest('hex') };
}

/** `length` bytes of `file` from `position`, in fresh 1 MiB buffers (zlib holds them past the next read). */
async function* readRange(file: FileHandle, position: number, length: number): AsyncGenerator<Buffer> {
  const end = position + length;
  while (position < end) {
    const want = Math.min(DATA_CHUNK, end - position);
    const { bytesRead, buffer } = await file.read(Buffer.allocUnsafe(want), 0, want, position);
    if (bytesRead === 0) throw new IntegrityError('unexpected end of file in entry data');
    position += bytesRead;
    yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead);
  }
}

/** Errors while reading one entry's data name the entry. */
function entryError(err: unknown, label: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  if (err instanceof DomainError || isSystemError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/too many bytes|not enough bytes/.test(message)) {
    return new IntegrityError(`entry ${label}: actual size does not match the declared size (${message})`, {
      cause: err,
    });
  }
  return new IntegrityError(`not a valid zip archive: entry ${label}: ${message}`, { cause: err });
}

/** Anything yauzl or zlib reject is a malformed archive; file-system errors stay what they are. */
function classifyError(err: unknown, signal: AbortSignal | undefined): unknown {
  return signal?.aborted ? signal.reason : notAValidZip(err);
}
