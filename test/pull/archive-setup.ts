/**
 * What the ArchivePuller tests share: the fake HTTPS registry with one big
 * package (so a download takes many chunks), one database file, one object
 * store, and any number of pullers on it, each with its own database
 * connection and staging directory (as separate processes would have).
 */

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { openDatabase } from '../../server/src/db/database.js';
import type { ProviderIdentity } from '../../server/src/db/providers.js';
import { StagingArea } from '../../server/src/loads/staging.js';
import { type ArchivePullerOptions, SingleFlightArchivePuller } from '../../server/src/pull/archive.js';
import type { VerifiedRelease } from '../../server/src/pull/ports.js';
import { createRepositories, type Repositories } from '../../server/src/runtime.js';
import { FilesystemStore } from '../../server/src/storage/filesystem.js';
import { RegistryClient } from '../../server/src/upstream/registry.js';
import { type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';

export const provider: ProviderIdentity = { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'big' };
export const VERSION = '1.0.0';
export const PLATFORM = 'linux_amd64';
export const limits = { zipMaxEntries: 100, zipMaxUncompressedBytes: 1 << 28, zipMaxRatio: 1000, moduleMaxDownloadBytes: 1 << 24, moduleMaxTreeBytes: 1 << 26, moduleMaxEntries: 1000 };

export interface PullerInstance {
  puller: SingleFlightArchivePuller;
  repos: Repositories;
  staging: StagingArea;
  stagedFiles(): string[];
  /** Versions the puller reported published (for cache invalidation), in order. */
  published: string[];
}

export interface PullSetup {
  dir: string;
  registry: FakeRegistry;
  store: FilesystemStore;
  release: VerifiedRelease;
  /** The package as the upstream holds it. */
  expected: { sha256: string; size: number };
  /** A puller with its own connection to the shared database and its own staging directory. */
  puller(name?: string, options?: Partial<ArchivePullerOptions>): PullerInstance;
  /** Archive downloads the upstream received. */
  downloads(): number;
}

export async function pullSetup(t: { teardown(fn: () => Promise<void> | void): void }, sizeBytes = 2 * 1024 * 1024): Promise<PullSetup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-pull-'));
  const registry = await startFakeRegistry([], {
    bigPackage: { namespace: provider.namespace, type: provider.type, version: VERSION, platform: PLATFORM, sizeBytes },
  });
  const store = new FilesystemStore({ path: path.join(dir, 'storage') });
  await store.init();
  const client = new RegistryClient({ hostname: registry.hostname, url: registry.url, ca: registry.caPem });
  const closers: (() => Promise<void> | void)[] = [];
  t.teardown(async () => {
    for (const close of closers.reverse()) await close();
    client.close();
    await registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const release = verifiedRelease(registry);
  const pkg = registry.release(provider.namespace, provider.type, VERSION).packages.get(PLATFORM)!;
  return {
    dir,
    registry,
    store,
    release,
    expected: { sha256: pkg.sha256, size: pkg.size },
    puller(name = 'a', options = {}) {
      const db = openDatabase(path.join(dir, 'tfmirror.db'));
      const repos = createRepositories(db);
      const staging = new StagingArea(path.join(dir, `staging-${name}`));
      staging.init();
      const published: string[] = [];
      const puller = new SingleFlightArchivePuller({
        providers: repos.providers,
        leases: repos.pullLeases,
        store,
        staging,
        limits,
        registry: () => client,
        published: (id, version) => published.push(`${id.hostname}/${id.namespace}/${id.type} ${version}`),
        options: { owner: name, ...options },
      });
      closers.push(async () => {
        await puller.close();
        db.close();
      });
      return { puller, repos, staging, stagedFiles: () => fs.readdirSync(staging.dir), published };
    },
    downloads: () => registry.requests(/\.zip$/),
  };
}

/** What the metadata side hands the puller, built from the fake's release. */
function verifiedRelease(registry: FakeRegistry): VerifiedRelease {
  const r = registry.release(provider.namespace, provider.type, VERSION);
  const files = `${registry.url}files/${r.namespace}/${r.type}/${r.version}/`;
  return {
    version: r.version,
    protocols: r.protocols,
    shasums: r.files.get(r.sumsFilename)!,
    signature: r.files.get(`${r.sumsFilename}.sig`)!,
    signingKeys: [{ key_id: registry.keyId, ascii_armor: registry.publicKeyArmored }],
    keyIds: [registry.keyId],
    signed: true,
    archives: Object.fromEntries(
      [...r.packages].map(([platform, p]) => [platform, { os: p.os, arch: p.arch, filename: p.filename, downloadUrl: files + p.filename, sha256: p.sha256 }]),
    ),
  };
}

export interface Received {
  sha256: string;
  size: number;
  error?: Error;
}

/** Reads a body to its end or its error; `onChunk` sees the running byte count. */
export async function receive(body: Readable, onChunk?: (received: number) => void): Promise<Received> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of body) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      onChunk?.(size);
    }
  } catch (err) {
    return { sha256: hash.digest('hex'), size, error: err as Error };
  }
  return { sha256: hash.digest('hex'), size };
}

/** Resolves once `cond` holds, polling; rejects after `ms`. */
export async function eventually(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
