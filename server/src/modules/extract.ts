/**
 * Unpacks an untrusted module archive (tar.gz or zip, a downloaded file in
 * staging) into an empty directory, bounded while it streams: a gzip or zip
 * bomb stops at the limit, not at its end. Names are vetted before anything
 * is written (tree.ts), links are recorded and only created once every file
 * is out, after their target was checked to stay inside the tree; the
 * caller then runs checkTree, which turns them into copies. Nothing is ever
 * written through a link, and nothing but files and directories is created.
 *
 * tar is read with tar-stream (streaming, it hands out each header as parsed
 * with pax and GNU long names applied, and leaves every policy to us), zip
 * with yauzl, as for provider packages.
 */

import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tarStream from 'tar-stream';
import yauzl from 'yauzl';
import { DomainError, IntegrityError, InvalidInput, LimitExceeded } from '../errors.js';
import { isSystemError, METHOD_DEFLATED, METHOD_STORED, notAValidZip, openZip, S_IFLNK, S_IFMT, utf8Name } from '../packages/zip-open.js';
import { abortError } from '../storage/streaming.js';

// tar-stream's entries are streamx readables; their async iteration is not in its type declarations.
type TarSource = AsyncIterable<Buffer> & { header: tarStream.Header };
import type { ArchiveLocation, ModuleLimits } from './ports.js';
import { checkEntryName, linkTarget } from './tree.js';

export interface ExtractOptions {
  signal?: AbortSignal;
  /** Archive bytes read so far (a bomb must stop early: this stays far below the archive's size). */
  onRead?: (bytes: number) => void;
}

/** Longest symbolic-link target read from an archive. */
const MAX_LINK_TARGET = 4096;
/** Tar framing around the file data: a header and padding per entry, pax records, the end blocks. */
const TAR_OVERHEAD_PER_ENTRY = 3 * 512;

/** Unpacks `file` into `into` (an existing, empty directory). */
export async function extractArchive(
  file: string,
  format: ArchiveLocation['format'],
  into: string,
  limits: ModuleLimits,
  opts: ExtractOptions = {},
): Promise<void> {
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const { size } = await fs.stat(file);
  if (size > limits.maxDownloadBytes) {
    throw new LimitExceeded(`module archive is ${size} bytes, more than the limit of ${limits.maxDownloadBytes} (limits.module_max_download_bytes)`);
  }
  const tree = new TreeWriter(into, limits);
  if (format === 'zip') await extractZip(file, tree, limits, opts);
  else await extractTarGz(file, tree, limits, opts);
  await tree.createLinks();
}

/** The bookkeeping of one extraction: what each path is, the counts, the links to create at the end. */
class TreeWriter {
  private readonly kinds = new Map<string, 'file' | 'dir' | 'link'>();
  private readonly explicit = new Set<string>();
  private readonly links: Array<{ rel: string; target: string }> = [];
  private entries = 0;
  private bytes = 0;

  constructor(
    private readonly root: string,
    private readonly limits: ModuleLimits,
  ) {}

  /** Checks a new entry's name against what came before; undefined for the root (`./`). */
  private claim(name: string, kind: 'file' | 'dir' | 'link'): string | undefined {
    const rel = checkEntryName(name);
    if (rel === undefined) {
      if (kind !== 'dir') throw new InvalidInput(`entry ${JSON.stringify(name)} names the root as a ${kind}`);
      return undefined;
    }
    if (this.explicit.has(rel)) {
      // Extractors disagree on which copy wins, so what clients unpack could differ from what was checked.
      throw new InvalidInput(`entry ${JSON.stringify(name)} appears twice in the archive`);
    }
    this.explicit.add(rel);
    const had = this.kinds.get(rel);
    if (had !== undefined && !(had === 'dir' && kind === 'dir')) {
      throw new InvalidInput(`entry ${JSON.stringify(name)} is a ${kind}, but entries below it make it a directory`);
    }
    return rel;
  }

  private count(rel: string): void {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) {
      throw new LimitExceeded(
        `module archive has more than ${this.limits.maxEntries} entries (limits.module_max_entries; reached at ${JSON.stringify(rel)})`,
      );
    }
  }

  /** Creates the parents of `rel` as directories; refused below a file or a link. */
  private async parents(rel: string): Promise<void> {
    const segments = rel.split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join('/');
      const kind = this.kinds.get(dir);
      if (kind === 'dir') continue;
      if (kind !== undefined) throw new InvalidInput(`entry ${JSON.stringify(rel)} is below ${JSON.stringify(dir)}, which is a ${kind}`);
      this.count(dir);
      this.kinds.set(dir, 'dir');
      await fs.mkdir(path.join(this.root, dir), { mode: 0o755 });
    }
  }

  async dir(name: string): Promise<void> {
    const rel = this.claim(name, 'dir');
    if (rel === undefined || this.kinds.get(rel) === 'dir') return;
    await this.parents(rel);
    this.count(rel);
    this.kinds.set(rel, 'dir');
    await fs.mkdir(path.join(this.root, rel), { mode: 0o755 });
  }

  /** Writes a regular file from `data`, counting its bytes against the tree limit as they come. */
  async file(name: string, executable: boolean, declaredSize: number, data: AsyncIterable<Buffer>): Promise<void> {
    const rel = this.claim(name, 'file')!;
    // A declared size beyond the limit is refused before a byte is inflated.
    if (this.bytes + declaredSize > this.limits.maxTreeBytes) this.addBytes(rel, declaredSize, 'declares');
    await this.parents(rel);
    this.count(rel);
    this.kinds.set(rel, 'file');
    const fh = await fs.open(path.join(this.root, rel), 'wx', executable ? 0o755 : 0o644);
    try {
      let written = 0;
      for await (const chunk of data) {
        written += chunk.length;
        if (written > declaredSize) throw new IntegrityError(`entry ${JSON.stringify(name)} holds more than its declared ${declaredSize} bytes`);
        this.addBytes(rel, chunk.length, 'holds');
        await fh.write(chunk);
      }
      if (written !== declaredSize) throw new IntegrityError(`entry ${JSON.stringify(name)} holds ${written} bytes, not its declared ${declaredSize}`);
    } finally {
      await fh.close();
    }
  }

  async link(name: string, target: string): Promise<void> {
    const rel = this.claim(name, 'link');
    if (rel === undefined) return;
    linkTarget(rel, target);
    await this.parents(rel);
    this.count(rel);
    this.kinds.set(rel, 'link');
    this.links.push({ rel, target });
  }

  /** Links last: by now every path they may point through exists as what the archive said it is. */
  async createLinks(): Promise<void> {
    for (const { rel, target } of this.links) await fs.symlink(target, path.join(this.root, rel));
  }

  private addBytes(rel: string, n: number, verb: string): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxTreeBytes) {
      throw new LimitExceeded(
        `module archive ${verb} more than ${this.limits.maxTreeBytes} bytes of files ` +
          `(limits.module_max_tree_bytes; reached at ${JSON.stringify(rel)})`,
      );
    }
  }
}

async function extractTarGz(file: string, tree: TreeWriter, limits: ModuleLimits, opts: ExtractOptions): Promise<void> {
  const read = createReadStream(file);
  const gunzip = zlib.createGunzip();
  const extract = tarStream.extract();
  // The decompressed stream is bounded too: zeros after the end of the tar are skipped by the
  // parser without ever reaching an entry, so counting entries alone would not stop that bomb.
  const maxInflated = limits.maxTreeBytes + (limits.maxEntries + 4) * TAR_OVERHEAD_PER_ENTRY;
  let failure: unknown;
  const fail = (err: unknown): void => {
    failure ??= err;
    read.destroy();
    gunzip.destroy();
    extract.destroy(err instanceof Error ? err : new Error(String(err)));
  };
  let readBytes = 0;
  read.on('data', (chunk) => {
    readBytes += chunk.length;
    opts.onRead?.(readBytes);
  });
  let inflated = 0;
  gunzip.on('data', (chunk: Buffer) => {
    inflated += chunk.length;
    if (inflated > maxInflated) {
      fail(new LimitExceeded(`module archive inflates to more than ${maxInflated} bytes (limits.module_max_tree_bytes is ${limits.maxTreeBytes})`));
    }
  });
  read.on('error', fail);
  gunzip.on('error', (err) => fail(new IntegrityError(`not a valid tar.gz archive: ${err.message}`, { cause: err })));
  extract.on('error', (err: Error) => fail(err));
  const onAbort = (): void => fail(abortError(opts.signal!));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  read.pipe(gunzip).pipe(extract);
  try {
    for await (const entry of extract) {
      await tarEntry(entry as unknown as TarSource, tree);
    }
    if (failure !== undefined) throw failure;
  } catch (err) {
    fail(err);
    throw tarError(failure ?? err);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    read.destroy();
  }
}

async function tarEntry(entry: TarSource, tree: TreeWriter): Promise<void> {
  const { header } = entry;
  const label = JSON.stringify(header.name);
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return tree.file(header.name, ((header.mode ?? 0) & 0o111) !== 0, header.size ?? 0, entry);
    case 'directory':
      await tree.dir(header.name);
      return drain(entry);
    case 'symlink':
      await tree.link(header.name, header.linkname ?? '');
      return drain(entry);
    case 'link':
      throw new InvalidInput(`entry ${label} is a hard link; module packages hold only files, directories and links inside the tree`);
    case 'character-device':
    case 'block-device':
    case 'fifo':
      throw new InvalidInput(`entry ${label} is a ${header.type.replace('-', ' ')}; module packages hold only files and directories`);
    default:
      throw new InvalidInput(`entry ${label} has the unsupported tar entry type ${String(header.type)}`);
  }
}

async function drain(entry: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of entry) {
    // Directories and links carry no data; whatever a hostile one carries is skipped.
  }
}

function tarError(err: unknown): unknown {
  if (err instanceof DomainError || isSystemError(err) || (err instanceof Error && err.name === 'AbortError')) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new IntegrityError(`not a valid tar.gz archive: ${message}`, { cause: err });
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

async function extractZip(file: string, tree: TreeWriter, limits: ModuleLimits, opts: ExtractOptions): Promise<void> {
  const { signal } = opts;
  let zipfile: yauzl.ZipFile;
  try {
    zipfile = await openZip(
      file,
      limits.maxEntries,
      (count) => `module archive has ${count} entries, more than the limit of ${limits.maxEntries} (limits.module_max_entries)`,
    );
  } catch (err) {
    throw zipError(err, signal);
  }
  try {
    const entries: yauzl.Entry[] = [];
    let declared = 0;
    for await (const entry of zipfile.eachEntry()) {
      if (signal?.aborted) throw abortError(signal);
      const name = zipName(entry);
      if (entry.isEncrypted()) throw new InvalidInput(`entry ${JSON.stringify(name)} is encrypted`);
      if (entry.compressionMethod !== METHOD_STORED && entry.compressionMethod !== METHOD_DEFLATED) {
        throw new InvalidInput(`entry ${JSON.stringify(name)} uses unsupported compression method ${entry.compressionMethod}`);
      }
      declared += entry.uncompressedSize;
      if (declared > limits.maxTreeBytes) {
        throw new LimitExceeded(
          `module archive declares more than ${limits.maxTreeBytes} bytes of files (limits.module_max_tree_bytes; reached at ${JSON.stringify(name)})`,
        );
      }
      entries.push(entry);
    }
    for (const entry of entries) {
      if (signal?.aborted) throw abortError(signal);
      await zipEntry(zipfile, entry, tree);
    }
  } catch (err) {
    throw zipError(err, signal);
  } finally {
    zipfile.close();
  }
}

async function zipEntry(zipfile: yauzl.ZipFile, entry: yauzl.Entry, tree: TreeWriter): Promise<void> {
  const name = zipName(entry);
  const mode = entry.externalFileAttributes >>> 16;
  const type = mode & S_IFMT;
  if (name.endsWith('/') || type === S_IFDIR) return tree.dir(name);
  if (type === S_IFLNK) {
    if (entry.uncompressedSize > MAX_LINK_TARGET) throw new InvalidInput(`symbolic link ${JSON.stringify(name)} has an oversized target`);
    const chunks: Buffer[] = [];
    for await (const chunk of (await zipfile.openReadStreamPromise(entry)) as AsyncIterable<Buffer>) chunks.push(chunk);
    return tree.link(name, Buffer.concat(chunks).toString('utf8'));
  }
  // Unix mode bits are honoured whatever "made by" says, as unzip and bsdtar do; 0: no unix mode recorded.
  if (type !== 0 && type !== S_IFREG) {
    throw new InvalidInput(`entry ${JSON.stringify(name)} is a device, fifo or socket; module packages hold only files and directories`);
  }
  const stream: Readable = await zipfile.openReadStreamPromise(entry);
  try {
    await tree.file(name, (mode & 0o111) !== 0, entry.uncompressedSize, stream as AsyncIterable<Buffer>);
  } catch (err) {
    if (err instanceof DomainError || isSystemError(err)) throw err;
    // yauzl's own checks (sizes, inflate errors): the entry is named so the refusal says where.
    const message = err instanceof Error ? err.message : String(err);
    throw new IntegrityError(`not a valid zip archive: entry ${JSON.stringify(name)}: ${message}`, { cause: err });
  }
}

function zipName(entry: yauzl.Entry): string {
  const name = utf8Name(entry);
  if (name === undefined) {
    throw new InvalidInput(`entry ${JSON.stringify(entry.fileNameRaw.toString('latin1'))} has a name that is not valid UTF-8`);
  }
  return name;
}

function zipError(err: unknown, signal: AbortSignal | undefined): unknown {
  return signal?.aborted ? abortError(signal) : notAValidZip(err);
}
