/**
 * The write path for module versions (ModuleIngest in ports.ts): ask the
 * upstream where the version is, parse that location, fetch it as a
 * normalized tar.gz, store it under its canonical key, record the row with
 * its holder, tell the caches.
 *
 * One fetch per (address, version): concurrent callers in this process share
 * one flight (a map of promises); processes on one database take a pull lease
 * first (pull_leases, key `module:{host}/{ns}/{name}/{system}@{version}`), and a
 * process that finds another's live lease polls for the row instead of
 * fetching, taking the fetch over if that lease lapses (its owner died), as
 * pull/archive.ts does for provider archives. The flight carries no caller's
 * signal: it is aborted only when every caller waiting on it gave up.
 *
 * All-or-nothing: the object is stored before the row names it, and removed
 * again when recording fails; a version recorded meanwhile by someone else
 * (a git tag that moved between two fetches) keeps its pinned tree, and the
 * archive this ingest stored is removed unless a row names it.
 */

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { hostname as machineName } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { whenNotBusy } from '../db/database.js';
import type { ModuleRepository } from '../db/modules.js';
import type { PullLeaseRepository } from '../db/pull-leases.js';
import { InvalidInput, Unavailable } from '../errors.js';
import { isValidVersion } from '../providers/version.js';
import { abortError } from '../storage/streaming.js';
import type { ObjectStore } from '../storage/store.js';
import { formatModuleAddress } from './address.js';
import type {
  FetchOptions,
  FetchedModule,
  IngestedModule,
  ModuleAddress,
  ModuleFetcher,
  ModuleHolder,
  ModuleIngest,
  ModuleUpstream,
  ModuleVersionRow,
} from './ports.js';
import { parseLocation } from './source.js';

export interface ModuleIngestOptions {
  /** Names this process in lease rows. */
  owner: string;
  /** A lease not renewed for this long is taken over by another process. */
  leaseMs: number;
  heartbeatMs: number;
  /** How often a process waiting for another's fetch looks for the row. */
  peerPollMs: number;
  /** Longest wait for another process's fetch before the caller gets Unavailable (503, retry). */
  peerWaitMs: number;
}

export const DEFAULT_MODULE_INGEST_OPTIONS: Omit<ModuleIngestOptions, 'owner'> = {
  leaseMs: 30_000,
  heartbeatMs: 10_000,
  peerPollMs: 150,
  peerWaitMs: 45_000,
};

export interface ModuleIngestDeps {
  repos: { modules: ModuleRepository };
  leases: PullLeaseRepository;
  store: ObjectStore;
  fetcher: ModuleFetcher;
  /** The module client of an upstream (RegistryClients.modules in the server); throws for hostnames without one. */
  upstreams(hostname: string): ModuleUpstream;
  /** Called after a version was recorded (cache invalidation). */
  published?: () => void;
  now?: () => number;
  /** Whether http:// locations are accepted from this upstream (one configured with a plain http url); default never. */
  allowHttp?: (hostname: string) => boolean;
  options?: Partial<ModuleIngestOptions>;
}

/** `modules/{host}/{ns}/{name}/{system}/{version}/{sha256}.tar.gz`: content-addressed, so a re-fetch of another tree never overwrites one. */
export function moduleArchiveKey(a: ModuleAddress, version: string, sha256: string): string {
  if (!isValidVersion(version)) throw new InvalidInput(`invalid module version ${JSON.stringify(version.slice(0, 100))}`, { key: 'version' });
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new InvalidInput('invalid module archive sha256: expected 64 lowercase hex digits');
  // Keys allow no ":"; no hostname holds "_", so "host_8443" stays unambiguous.
  return `modules/${a.hostname.toLowerCase().replace(':', '_')}/${a.namespace.toLowerCase()}/${a.name.toLowerCase()}/${a.system.toLowerCase()}/${version}/${sha256}.tar.gz`;
}

/** The pull-lease key of one module version (and of its flight in this process). */
export function moduleLeaseKey(a: ModuleAddress, version: string): string {
  return `module:${a.hostname.toLowerCase()}/${a.namespace.toLowerCase()}/${a.name.toLowerCase()}/${a.system.toLowerCase()}@${version}`;
}

interface Flight {
  result: Promise<{ row: ModuleVersionRow; fetched: boolean }>;
  controller: AbortController;
  waiters: number;
  progress: Set<(bytes: number) => void>;
}

export function createModuleIngest(deps: ModuleIngestDeps): ModuleIngest {
  return new SingleFlightModuleIngest(deps);
}

export class SingleFlightModuleIngest implements ModuleIngest {
  private readonly flights = new Map<string, Flight>();
  private readonly options: ModuleIngestOptions;
  private readonly now: () => number;

  constructor(private readonly deps: ModuleIngestDeps) {
    this.options = { owner: `${machineName()}:${process.pid}:${randomBytes(4).toString('hex')}`, ...DEFAULT_MODULE_INGEST_OPTIONS, ...deps.options };
    this.now = deps.now ?? Date.now;
  }

  async ingest(address: ModuleAddress, version: string, holder: ModuleHolder, opts: FetchOptions = {}): Promise<IngestedModule> {
    if (!isValidVersion(version)) throw new InvalidInput(`invalid module version ${JSON.stringify(version.slice(0, 100))}`, { key: 'version' });
    opts.signal?.throwIfAborted();
    const held = this.held(address, version);
    if (held) return { row: await this.addHolder(held, holder), fetched: false };

    const key = moduleLeaseKey(address, version);
    let flight = this.flights.get(key);
    if (flight === undefined) flight = this.start(key, address, version, holder);
    const result = await this.wait(flight, opts);
    // The flight recorded its first caller's holder; every other caller adds its own.
    await this.addHolder(result.row, holder);
    return result;
  }

  private start(key: string, address: ModuleAddress, version: string, holder: ModuleHolder): Flight {
    const controller = new AbortController();
    const progress = new Set<(bytes: number) => void>();
    const flight: Flight = {
      controller,
      waiters: 0,
      progress,
      result: this.run(key, address, version, holder, controller.signal, (n) => progress.forEach((f) => f(n))).finally(() => {
        if (this.flights.get(key) === flight) this.flights.delete(key);
      }),
    };
    // A flight every caller left still ends; its rejection is nobody's to see.
    flight.result.catch(() => undefined);
    this.flights.set(key, flight);
    return flight;
  }

  /** Waits for the flight until it ends or this caller gives up; the last caller to give up aborts it. */
  private async wait(flight: Flight, opts: FetchOptions): Promise<{ row: ModuleVersionRow; fetched: boolean }> {
    const { signal, onProgress } = opts;
    flight.waiters++;
    if (onProgress) flight.progress.add(onProgress);
    let onAbort: (() => void) | undefined;
    try {
      if (!signal) return await flight.result;
      return await Promise.race([
        flight.result,
        new Promise<never>((_, reject) => {
          onAbort = () => reject(abortError(signal));
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      if (onProgress) flight.progress.delete(onProgress);
      if (--flight.waiters === 0 && signal?.aborted) flight.controller.abort(abortError(signal));
    }
  }

  /** Fetches under the lease, or waits for the process holding it. */
  private async run(
    key: string,
    address: ModuleAddress,
    version: string,
    holder: ModuleHolder,
    signal: AbortSignal,
    onProgress: (bytes: number) => void,
  ): Promise<{ row: ModuleVersionRow; fetched: boolean }> {
    const { owner, leaseMs, peerPollMs, peerWaitMs } = this.options;
    const deadline = this.now() + peerWaitMs;
    for (;;) {
      const leased = await whenNotBusy(() => this.deps.leases.acquire(key, owner, leaseMs, this.now()), { maxWaitMs: 5_000, signal });
      // Recorded meanwhile (by the lease's previous holder, or another caller): nothing to fetch.
      const held = this.held(address, version);
      if (held) {
        if (leased) await this.releaseLease(key);
        return { row: held, fetched: false };
      }
      if (leased) {
        const heartbeat = setInterval(() => void this.renewLease(key), this.options.heartbeatMs);
        try {
          return { row: await this.fetchAndRecord(address, version, holder, signal, onProgress), fetched: true };
        } finally {
          clearInterval(heartbeat);
          await this.releaseLease(key);
        }
      }
      if (this.now() >= deadline) {
        throw new Unavailable(`another mirror process has been fetching module ${formatModuleAddress(address)} ${version} for more than ${Math.round(peerWaitMs / 1000)}s`, {
          retryAfterSeconds: 5,
        });
      }
      await sleep(peerPollMs, undefined, { signal });
    }
  }

  private async fetchAndRecord(
    address: ModuleAddress,
    version: string,
    holder: ModuleHolder,
    signal: AbortSignal,
    onProgress: (bytes: number) => void,
  ): Promise<ModuleVersionRow> {
    const raw = await this.deps.upstreams(address.hostname).downloadLocation(address, version, signal);
    // The client resolved relative forms against the download URL already: raw is absolute here.
    const location = parseLocation(raw, raw, { allowHttp: this.deps.allowHttp?.(address.hostname) ?? false });
    // The upstream that handed the location out decides where its download may lead (its reach rules).
    const fetched = await this.deps.fetcher.fetch(location, { signal, onProgress, upstream: address.hostname });
    try {
      return await this.publish(address, version, holder, fetched, signal);
    } finally {
      await fs.promises.rm(fetched.file, { force: true });
    }
  }

  private async publish(address: ModuleAddress, version: string, holder: ModuleHolder, fetched: FetchedModule, signal: AbortSignal): Promise<ModuleVersionRow> {
    const archiveKey = moduleArchiveKey(address, version, fetched.sha256);
    const put = () =>
      this.deps.store.put(archiveKey, fs.createReadStream(fetched.file), { size: fetched.size, contentType: 'application/gzip', signal });
    await put();
    let recorded;
    try {
      recorded = await whenNotBusy(
        () =>
          this.deps.repos.modules.recordVersion(
            address,
            {
              version,
              location: fetched.location.raw,
              sourceKind: fetched.location.kind,
              commit: fetched.commit,
              subdir: fetched.subdir,
              archiveKey,
              sha256: fetched.sha256,
              size: fetched.size,
              files: fetched.files,
            },
            holder,
            this.now(),
          ),
        { signal },
      );
    } catch (err) {
      await this.removeUnlessReferenced(archiveKey);
      throw err;
    }
    if (recorded.row.archiveKey !== archiveKey) {
      // Someone recorded this version first: theirs is the pinned tree.
      await this.removeUnlessReferenced(archiveKey);
    } else if ((await this.deps.store.head(archiveKey)) === null) {
      // A purge or sweep deleted the key between our put and our row (same bytes, same key): put it back.
      await put();
    }
    this.deps.published?.();
    return recorded.row;
  }

  private held(address: ModuleAddress, version: string): ModuleVersionRow | undefined {
    const module = this.deps.repos.modules.findModule(address);
    return module ? this.deps.repos.modules.findVersion(module.id, version) : undefined;
  }

  private async addHolder(row: ModuleVersionRow, holder: ModuleHolder): Promise<ModuleVersionRow> {
    await whenNotBusy(() => this.deps.repos.modules.addHolder(row.id, holder), { maxWaitMs: 10_000 });
    return row;
  }

  private async removeUnlessReferenced(key: string): Promise<void> {
    if (this.deps.repos.modules.isArchiveKeyReferenced(key)) return;
    // Left for the orphan sweep if the store fails now: nothing names it.
    await this.deps.store.delete(key).catch(() => undefined);
  }

  private async renewLease(key: string): Promise<void> {
    const { owner, leaseMs } = this.options;
    // Losing the lease (we stalled past it) only risks a second fetch elsewhere; recording stays idempotent.
    await whenNotBusy(() => this.deps.leases.heartbeat(key, owner, leaseMs, this.now()), { maxWaitMs: this.options.heartbeatMs }).catch(() => undefined);
  }

  private async releaseLease(key: string): Promise<void> {
    await whenNotBusy(() => this.deps.leases.release(key, this.options.owner), { maxWaitMs: 5_000 }).catch(() => undefined);
  }
}
