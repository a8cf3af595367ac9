/**
 * In-memory adapters of the module seam's ports (ModuleMetadata, ModuleIngest)
 * with counters and switches, for testing the read path's module routes and
 * the seam without an upstream. The ingest stores real bytes and records real
 * rows (ModuleRepository), so what it "pulled" is served like anything held.
 */

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ModuleRepository } from '../../server/src/db/modules.js';
import { NotFound } from '../../server/src/errors.js';
import { formatModuleAddress } from '../../server/src/modules/address.js';
import type { FetchOptions, IngestedModule, ModuleAddress, ModuleHolder, ModuleIngest } from '../../server/src/modules/ports.js';
import type { Cached, UpstreamHealthState } from '../../server/src/pull/ports.js';
import type { ModuleMetadata } from '../../server/src/pull/pull-through.js';
import type { ObjectStore } from '../../server/src/storage/store.js';
import { UpstreamUnavailable } from '../../server/src/upstream/errors.js';

export type UpstreamMode = 'up' | 'down' | { slowMs: number };

/** An upstream module registry's versions lists, as the metadata cache would answer them. */
export class FakeModuleMetadata implements ModuleMetadata {
  calls = { versions: 0, guarded: 0 };
  mode: UpstreamMode = 'up';
  freshness: Cached<unknown>['freshness'] = 'fresh';
  retryAt: number | undefined;
  private readonly modules = new Map<string, string[]>();

  constructor(modules: Record<string, string[]> = {}) {
    for (const [address, versions] of Object.entries(modules)) this.modules.set(address.toLowerCase(), versions);
  }

  async moduleVersions(a: ModuleAddress): Promise<Cached<string[]>> {
    this.calls.versions++;
    await behave(this.mode);
    const versions = this.modules.get(formatModuleAddress(a).toLowerCase());
    if (!versions) throw new NotFound(`no module ${formatModuleAddress(a)} upstream`);
    return { value: versions, freshness: this.freshness, fetchedAt: Date.now() };
  }

  health(hostname: string): UpstreamHealthState {
    return this.retryAt === undefined
      ? { hostname, state: 'up', consecutiveFailures: 0 }
      : { hostname, state: 'backing_off', retryAt: this.retryAt, consecutiveFailures: 3 };
  }

  guarded<T>(_hostname: string, send: () => Promise<T>): Promise<T> {
    this.calls.guarded++;
    return send();
  }
}

export interface FakePackage {
  bytes: Buffer;
  subdir?: string;
  /** Thrown instead of storing (a refused archive, an unreachable upstream). */
  error?: Error;
}

/** Fetches nothing: stores the bytes a test gave for a version and records its row, once per version for every caller. */
export class FakeModuleIngest implements ModuleIngest {
  calls = 0;
  delayMs = 0;
  private readonly inFlight = new Map<string, Promise<IngestedModule>>();

  constructor(
    private readonly repo: ModuleRepository,
    private readonly store: ObjectStore,
    private readonly packages: (a: ModuleAddress, version: string) => FakePackage | undefined,
    private readonly published: () => void = () => undefined,
  ) {}

  ingest(a: ModuleAddress, version: string, holder: ModuleHolder, _opts?: FetchOptions): Promise<IngestedModule> {
    const key = `${formatModuleAddress(a).toLowerCase()}@${version}`;
    const running = this.inFlight.get(key);
    if (running) return running;
    const p = this.run(a, version, holder).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  private async run(a: ModuleAddress, version: string, holder: ModuleHolder): Promise<IngestedModule> {
    this.calls++;
    const held = this.repo.findModule(a);
    const existing = held && this.repo.findVersion(held.id, version);
    if (existing) return { row: existing, fetched: false };
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const pkg = this.packages(a, version);
    if (!pkg) throw new NotFound(`version ${version} of ${formatModuleAddress(a)} not found upstream`);
    if (pkg.error) throw pkg.error;
    const row = await holdModule(this.repo, this.store, a, version, pkg, holder);
    this.published();
    return { row, fetched: true };
  }
}

/** Stores bytes under the canonical module key and records the version, as the ingest would. */
export async function holdModule(repo: ModuleRepository, store: ObjectStore, a: ModuleAddress, version: string, pkg: FakePackage, holder: ModuleHolder = { kind: 'loaded' }) {
  const sha256 = createHash('sha256').update(pkg.bytes).digest('hex');
  const archiveKey = `modules/${a.hostname}/${a.namespace}/${a.name}/${a.system}/${version}/${sha256}.tar.gz`;
  await store.put(archiveKey, Readable.from([pkg.bytes]), { size: pkg.bytes.length });
  return repo.recordVersion(
    a,
    { version, location: `git::https://git.example/${a.name}?ref=v${version}`, sourceKind: 'git', commit: 'a'.repeat(40), subdir: pkg.subdir, archiveKey, sha256, size: pkg.bytes.length, files: 1 },
    holder,
  ).row;
}

export function unreachable(): UpstreamUnavailable {
  return new UpstreamUnavailable('connection refused', { url: 'https://upstream.example/' });
}

async function behave(mode: UpstreamMode): Promise<void> {
  if (mode === 'down') throw unreachable();
  if (typeof mode === 'object') await new Promise((r) => setTimeout(r, mode.slowMs));
}
