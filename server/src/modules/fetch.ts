/**
 * The ModuleFetcher: what a parsed location names, fetched into a private
 * work directory in staging, checked like any untrusted tree and packed
 * normalized. Archives come through the upstream HTTP client, so the reach
 * rules (HTTPS, no private addresses unless the upstream is on one) apply to
 * every redirect hop; git through the GitClient. The work directory is
 * removed whatever happens (refusal, failure, abort); only the packed file
 * is left in staging, for the caller to store and remove.
 */

import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError, LimitExceeded } from '../errors.js';
import { describeUrl, UpstreamTooLarge } from '../upstream/errors.js';
import type { HttpClient } from '../upstream/http.js';
import { downloadArchive } from '../upstream/upstream-http.js';
import { extractArchive } from './extract.js';
import { packTree } from './pack.js';
import type { ArchiveLocation, FetchOptions, FetchedModule, GitClient, GitLocation, ModuleFetcher, ModuleLimits, ModuleLocation } from './ports.js';
import { checkTree, resolveSubdir } from './tree.js';

/** One client for every location, or one per upstream hostname (FetchOptions.upstream; undefined when not given). */
export type PerUpstream<T> = T | ((upstream: string | undefined) => T);

export interface ModuleFetcherOptions {
  limits: ModuleLimits;
  /** Where work directories and the packed archives go (the store's staging directory). */
  stagingDir: string;
  /**
   * The upstream HTTP client archives are downloaded with: upstreamHttpClient(options, base)
   * (upstream/upstream-http.ts), whose base decides where the download may lead.
   */
  http: PerUpstream<HttpClient>;
  git: PerUpstream<GitClient>;
}

export function createModuleFetcher(opts: ModuleFetcherOptions): ModuleFetcher {
  const pick = <T extends object>(choice: PerUpstream<T>, upstream: string | undefined): T =>
    typeof choice === 'function' ? (choice as (u: string | undefined) => T)(upstream) : choice;

  return {
    async fetch(location, fetchOpts = {}) {
      const { signal } = fetchOpts;
      signal?.throwIfAborted();
      await fs.mkdir(opts.stagingDir, { recursive: true });
      const work = await fs.mkdtemp(path.join(opts.stagingDir, 'module-work-'));
      try {
        const tree = path.join(work, 'tree');
        await fs.mkdir(tree);
        let commit: string | undefined;
        if (location.kind === 'archive') {
          const file = path.join(work, 'archive');
          await download(pick(opts.http, fetchOpts.upstream), location, file, opts.limits, fetchOpts);
          await extractArchive(file, location.format, tree, opts.limits, { signal });
          await fs.rm(file, { force: true });
        } else {
          const checkoutOpts = { ...fetchOpts, maxBytes: opts.limits.maxDownloadBytes };
          ({ commit } = await pick(opts.git, fetchOpts.upstream).checkout(location, tree, checkoutOpts));
        }
        await checkTree(tree, opts.limits, signal);
        const subdir = await resolveSubdir(tree, location.subdir, describeLocation(location));
        const out = path.join(opts.stagingDir, `module-${randomUUID()}.tar.gz`);
        let packed;
        try {
          packed = await packTree(tree, out, signal);
        } catch (err) {
          await fs.rm(out, { force: true });
          throw err;
        }
        const fetched: FetchedModule = { file: out, ...packed, location };
        if (commit !== undefined) fetched.commit = commit;
        if (subdir !== undefined) fetched.subdir = subdir;
        return fetched;
      } finally {
        await fs.rm(work, { recursive: true, force: true });
      }
    },

    resolveRef(location: GitLocation, signal?: AbortSignal, upstream?: string) {
      return pick(opts.git, upstream).lsRemote(location, signal);
    },
  };
}

/** Streams the archive to `file`, bounded by the download limit, reporting bytes as they arrive. */
async function download(http: HttpClient, location: ArchiveLocation, file: string, limits: ModuleLimits, opts: FetchOptions): Promise<void> {
  const tooLarge = () =>
    new LimitExceeded(
      `module archive ${describeUrl(location.url)} is larger than the limit of ${limits.maxDownloadBytes} bytes ` +
        `(limits.module_max_download_bytes)`,
    );
  let received = 0;
  const [algorithm, expected] = location.checksum?.split(':') ?? [];
  const digest = algorithm === undefined ? undefined : createHash(algorithm);
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      if (received > limits.maxDownloadBytes) {
        done(tooLarge());
        return;
      }
      digest?.update(chunk);
      opts.onProgress?.(received);
      done(null, chunk);
    },
  });
  try {
    const response = await downloadArchive(http, location.url, limits.maxDownloadBytes, opts.signal);
    await pipeline(response.body, count, createWriteStream(file, { flags: 'wx' }), { signal: opts.signal });
  } catch (err) {
    if (err instanceof UpstreamTooLarge) throw tooLarge();
    throw err;
  }
  // The upstream pinned the archive (go-getter's ?checksum=): anything else is not what it meant.
  if (digest !== undefined && digest.digest('hex') !== expected) {
    throw new IntegrityError(`module archive ${describeUrl(location.url)} does not match its ${algorithm} checksum`);
  }
}

/** The location for messages: scheme, host and path only (a query may carry a token). */
export function describeLocation(location: ModuleLocation): string {
  return location.kind === 'git' ? `git repository ${describeUrl(location.url)}` : `archive ${describeUrl(location.url)}`;
}
