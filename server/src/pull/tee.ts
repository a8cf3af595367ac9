/**
 * One download, many readers: the bytes are appended to a staging file and
 * every reader ("follower") reads it at its own pace, from its own offset.
 * Followers never push back on the download and never on each other: the
 * writer goes as fast as the upstream and the disk allow; a follower that
 * keeps up is served from a small in-memory window of the newest bytes, one
 * that falls behind reads them from the file (the page cache, mostly), and a
 * late one replays from byte 0. Memory stays bounded by the window plus each
 * follower's own stream buffer, whatever the number or speed of followers.
 *
 * The tail is held back: until release(), a follower delivers only up to
 * `holdBackBytes` before what has been written, so no follower can complete
 * (or even receive the last bytes of) a download whose digest has not been
 * checked. fail() destroys every follower with the error instead.
 */

import fs from 'node:fs';
import { Readable } from 'node:stream';

export interface GrowingFileOptions {
  /** How far behind the writer followers stay until release(). */
  holdBackBytes: number;
  /** Newest bytes kept in memory for followers that keep up. */
  windowBytes: number;
  /** Largest chunk a follower pushes at once. */
  chunkBytes?: number;
}

type State = 'growing' | 'complete' | 'released' | 'failed';

const DEFAULT_CHUNK = 64 * 1024;

export class GrowingFile {
  private written = 0;
  private state: State = 'growing';
  private error: Error | undefined;
  private readonly window: { offset: number; bytes: Buffer }[] = [];
  private windowSize = 0;
  private readonly waiting = new Set<Follower>();
  /** The writer's reference plus one per live follower; the descriptor closes at zero. */
  private refs = 1;
  private writerDetached = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    private readonly fh: fs.promises.FileHandle,
    private readonly options: GrowingFileOptions,
  ) {}

  /** Creates the file (it must not exist) open for writing and reading. */
  static async create(file: string, options: GrowingFileOptions): Promise<GrowingFile> {
    return new GrowingFile(file, await fs.promises.open(file, 'wx+'), options);
  }

  /** Appends one chunk; followers see it once it is in the file. Calls must not overlap. */
  async append(chunk: Buffer): Promise<void> {
    if (this.state !== 'growing') throw new Error(`append to a ${this.state} staging file`);
    for (let done = 0; done < chunk.length; ) {
      const { bytesWritten } = await this.fh.write(chunk, done, chunk.length - done, this.written + done);
      done += bytesWritten;
    }
    this.window.push({ offset: this.written, bytes: chunk });
    this.windowSize += chunk.length;
    // Keep at least the newest chunk even when it alone exceeds the window.
    while (this.window.length > 1 && this.windowSize - this.window[0]!.bytes.length >= this.options.windowBytes) {
      this.windowSize -= this.window.shift()!.bytes.length;
    }
    this.written += chunk.length;
    this.wake();
  }

  /** Every byte is in; followers still hold the tail back until release() or fail(). */
  complete(): void {
    if (this.state === 'growing') this.state = 'complete';
  }

  /** The bytes are verified (and published): followers may deliver the tail and end. */
  release(): void {
    if (this.state !== 'growing' && this.state !== 'complete') return;
    this.state = 'released';
    this.wake();
  }

  /** The download is refused or broke: every follower is destroyed with `err` before its end. */
  fail(err: Error): void {
    if (this.state === 'released' || this.state === 'failed') return;
    this.state = 'failed';
    this.error = err;
    this.window.splice(0);
    this.windowSize = 0;
    this.wake();
  }

  /**
   * A new reader from byte 0, or undefined when the file is already closed
   * (its download finished and every earlier follower is done: read the store).
   * Throws the download's error when it failed.
   */
  follow(): Readable | undefined {
    if (this.state === 'failed') throw this.error;
    if (this.closing) return undefined;
    this.refs++;
    return new Follower(this);
  }

  /**
   * The writer is done with the file: its name is removed now (staging never
   * keeps it), while followers keep reading through the open descriptor.
   */
  async detachWriter(): Promise<void> {
    if (this.writerDetached) return;
    this.writerDetached = true;
    await fs.promises.rm(this.path, { force: true });
    await this.unref();
  }

  /** @internal Up to which offset followers may deliver now. */
  deliverable(): number {
    return this.state === 'released' ? this.written : Math.max(0, this.written - this.options.holdBackBytes);
  }

  /** @internal */
  get ended(): boolean {
    return this.state === 'released';
  }

  /** @internal */
  get failure(): Error | undefined {
    return this.state === 'failed' ? this.error : undefined;
  }

  /** @internal Bytes at `offset` (up to `limit` and one chunk) from memory, or undefined when they left the window. */
  fromWindow(offset: number, limit: number): Buffer | undefined {
    const first = this.window[0];
    if (first === undefined || offset < first.offset) return undefined;
    const max = this.options.chunkBytes ?? DEFAULT_CHUNK;
    for (const w of this.window) {
      if (offset < w.offset + w.bytes.length) {
        const start = offset - w.offset;
        return w.bytes.subarray(start, Math.min(w.bytes.length, start + max, limit - w.offset));
      }
    }
    return undefined;
  }

  /** @internal Bytes at `offset` (up to `limit` and one chunk) from the file. */
  async fromFile(offset: number, limit: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(Math.min(this.options.chunkBytes ?? DEFAULT_CHUNK, limit - offset));
    const { bytesRead } = await this.fh.read(buf, 0, buf.length, offset);
    return buf.subarray(0, bytesRead);
  }

  /** @internal A follower caught up with what it may deliver: woken by the next append, release or failure. */
  wait(f: Follower): void {
    this.waiting.add(f);
  }

  /** @internal A follower ended or was destroyed (its client went away). */
  detach(f: Follower): Promise<void> {
    this.waiting.delete(f);
    return this.unref();
  }

  private unref(): Promise<void> {
    if (--this.refs > 0) return Promise.resolve();
    this.closing ??= this.fh.close().catch(() => undefined);
    return this.closing;
  }

  private wake(): void {
    const woken = [...this.waiting];
    this.waiting.clear();
    for (const f of woken) f.advance();
  }
}

/** One reader of a GrowingFile; see there. */
class Follower extends Readable {
  private offset = 0;
  private reading = false;

  constructor(private readonly source: GrowingFile) {
    super({ highWaterMark: DEFAULT_CHUNK });
  }

  override _read(): void {
    this.advance();
  }

  /** Delivers the next chunk it may, or waits for the writer. */
  advance(): void {
    if (this.reading || this.destroyed) return;
    const failure = this.source.failure;
    if (failure) {
      this.destroy(failure);
      return;
    }
    const limit = this.source.deliverable();
    if (this.offset >= limit) {
      if (this.source.ended) this.push(null);
      else this.source.wait(this);
      return;
    }
    const inMemory = this.source.fromWindow(this.offset, limit);
    if (inMemory) {
      this.deliver(inMemory);
      return;
    }
    this.reading = true;
    this.source.fromFile(this.offset, limit).then(
      (bytes) => {
        this.reading = false;
        if (bytes.length === 0) this.destroy(new Error(`staging file ${this.source.path} ended at ${this.offset} bytes, before what was written`));
        else this.deliver(bytes);
      },
      (err: unknown) => {
        this.reading = false;
        this.destroy(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  private deliver(bytes: Buffer): void {
    if (this.destroyed) return;
    // A failure between the read and now wins: bytes of a refused download are not pushed.
    const failure = this.source.failure;
    if (failure) {
      this.destroy(failure);
      return;
    }
    this.offset += bytes.length;
    this.push(bytes);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    void this.source.detach(this).then(() => cb(err));
  }
}
