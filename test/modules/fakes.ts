/**
 * In-memory adapters of the module ports for tests of what sits on top of
 * them (ingest, routes, loads): a ModuleFetcher that stages a small archive
 * whose bytes follow from the location, counts its calls, and can be made
 * slow, failing, or lying about the size.
 */

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';
import type { FetchOptions, FetchedModule, GitLocation, ModuleFetcher, ModuleLocation } from '../../server/src/modules/ports.js';

export interface FakeFetcherOptions {
  /** Each fetch waits this long (honouring the signal), e.g. to let concurrent callers pile up. */
  delayMs?: number;
  /** Thrown by the next fetches instead of staging anything. */
  fail?: Error;
  /** Reported size is off by this many bytes (the store must refuse it). */
  sizeSkew?: number;
  /** git commit a fetch reports (default forty "c"). */
  commit?: string;
  /** What resolveRef answers (default: the commit). */
  upstreamCommit?: string | undefined;
}

export class FakeModuleFetcher implements ModuleFetcher {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-fake-fetch-'));
  readonly locations: ModuleLocation[] = [];
  readonly signals: AbortSignal[] = [];
  /** Bytes the fake reported through onProgress, per fetch. */
  progressReported = 0;

  constructor(public options: FakeFetcherOptions = {}) {}

  get calls(): number {
    return this.locations.length;
  }

  async fetch(location: ModuleLocation, opts: FetchOptions = {}): Promise<FetchedModule> {
    this.locations.push(location);
    if (opts.signal) this.signals.push(opts.signal);
    if (this.options.delayMs) await sleep(this.options.delayMs, undefined, opts.signal ? { signal: opts.signal } : {});
    opts.signal?.throwIfAborted();
    if (this.options.fail) throw this.options.fail;
    // Level and header fixed: the same location always stages the same bytes.
    const bytes = zlib.gzipSync(Buffer.from(`tree of ${location.url} ${location.kind === 'git' ? (location.ref ?? '') : ''}\n`.repeat(50)), { level: 9 });
    const file = path.join(this.dir, `${this.calls}-${Math.random().toString(36).slice(2)}.tar.gz`);
    fs.writeFileSync(file, bytes);
    opts.onProgress?.(bytes.length);
    this.progressReported += bytes.length;
    const subdir = location.subdir === '*' ? 'top' : location.subdir;
    return {
      file,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length + (this.options.sizeSkew ?? 0),
      files: 2,
      location,
      ...(location.kind === 'git' ? { commit: this.options.commit ?? 'c'.repeat(40) } : {}),
      ...(subdir === undefined ? {} : { subdir }),
    };
  }

  async resolveRef(_location: GitLocation): Promise<string | undefined> {
    return 'upstreamCommit' in this.options ? this.options.upstreamCommit : (this.options.commit ?? 'c'.repeat(40));
  }

  /** Files still staged (every ingest must remove what it was handed). */
  staged(): string[] {
    return fs.readdirSync(this.dir);
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
