/**
 * The ArchivePuller: one upstream download of a package for every caller that
 * wants it while it is not held, streamed to all of them as it arrives,
 * checked against the signed SHA256SUMS and published before any of them
 * receives its last bytes.
 *
 * In this process, concurrent callers share one "flight" (a map keyed by
 * package). Across processes on one database, the flight first takes a lease
 * row; a process that finds another's live lease does not download but polls
 * for the package to be published and then serves it from the store (so its
 * callers get bytes later than the downloading process's callers), and takes
 * the download over if that lease lapses (its owner died).
 */

import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LimitsConfig } from '../config/types.js';
import { whenNotBusy } from '../db/database.js';
import type { PackageRow, ProviderIdentity, ProviderRepository, VersionEvidence } from '../db/providers.js';
import type { PullLeaseRepository } from '../db/pull-leases.js';
import { IntegrityError, NotFound, Unavailable } from '../errors.js';
import { storeVersionFile } from '../loads/evidence.js';
import type { StagingArea } from '../loads/staging.js';
import { ingestPackage } from '../packages/ingest.js';
import { shasumsKey, signatureKey, signingKeysKey } from '../providers/keys.js';
import type { ObjectStore } from '../storage/store.js';
import { untilAborted } from '../storage/streaming.js';
import type { ProviderRegistry } from '../upstream/registry.js';
import type { ArchivePuller, PulledArchive, ReleaseArchive, VerifiedRelease } from './ports.js';
import { GrowingFile } from './tee.js';

export interface ArchivePullerOptions {
  /** Names this process in lease rows. */
  owner: string;
  /** A lease not renewed for this long is taken over by another process. */
  leaseMs: number;
  heartbeatMs: number;
  /** How often a process waiting for another's download looks for the package. */
  peerPollMs: number;
  /**
   * Longest wait for another process's download before the caller gets a 503.
   * The waiting caller's response is silent meanwhile, so this stays under the
   * server's idle_timeout (60 s by default), which would cut it without a word.
   */
  peerWaitMs: number;
  /** The tail every caller waits for until the digest matched and the package is published. */
  holdBackBytes: number;
  /** Newest bytes kept in memory for callers that keep up with the download. */
  windowBytes: number;
}

export const DEFAULT_PULL_OPTIONS: Omit<ArchivePullerOptions, 'owner'> = {
  leaseMs: 30_000,
  heartbeatMs: 10_000,
  peerPollMs: 150,
  peerWaitMs: 45_000,
  holdBackBytes: 64 * 1024,
  windowBytes: 1024 * 1024,
};

export interface ArchivePullerDeps {
  providers: ProviderRepository;
  leases: PullLeaseRepository;
  store: ObjectStore;
  staging: StagingArea;
  limits: LimitsConfig;
  /** The upstream port by hostname (RegistryClients.get in the server). */
  registry(hostname: string): Pick<ProviderRegistry, 'download'>;
  /** Called after a package was published (cache invalidation). */
  published?: (id: ProviderIdentity, version: string) => void;
  /** A pull that failed after its callers had their streams (they were cut); for logs. */
  failed?: (key: string, err: unknown) => void;
  options?: Partial<ArchivePullerOptions>;
  now?: () => number;
}

/** Running totals, read by the metrics scrape. */
export interface ArchivePullStats {
  /** Upstream archive downloads started by this process. */
  downloads: number;
  /** Archive bytes received from upstreams. */
  bytesFetched: number;
  /** Callers that joined a download already running in this process. */
  joined: number;
  /** Pulls that waited for another process's download instead of starting one. */
  peerWaits: number;
  /** Downloads refused because the bytes failed a check (every caller's stream was cut). */
  integrityFailures: number;
  /** Downloads running now. */
  inFlight: number;
}

type Source = { kind: 'download'; file: GrowingFile; size: number | undefined } | { kind: 'store'; pkg: PackageRow };

/** One pull of one package, shared by every caller in this process. */
interface Flight {
  source: Promise<Source>;
}

export class SingleFlightArchivePuller implements ArchivePuller {
  private readonly flights = new Map<string, Flight>();
  private readonly options: ArchivePullerOptions;
  private readonly now: () => number;
  private readonly shutdown = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private readonly totals: Omit<ArchivePullStats, 'inFlight'> = { downloads: 0, bytesFetched: 0, joined: 0, peerWaits: 0, integrityFailures: 0 };

  constructor(private readonly deps: ArchivePullerDeps) {
    this.options = { owner: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`, ...DEFAULT_PULL_OPTIONS, ...deps.options };
    this.now = deps.now ?? Date.now;
  }

  async pull(id: ProviderIdentity, release: VerifiedRelease, platform: string, signal?: AbortSignal): Promise<PulledArchive> {
    signal?.throwIfAborted();
    const archive = release.archives[platform];
    if (archive === undefined) throw new NotFound(`${describe(id)} ${release.version} has no package for ${platform} upstream`);
    const held = this.deps.providers.findPackage(id, release.version, archive.os, archive.arch);
    if (held) return this.fromStore(held, 'store', signal);

    // Held packages are still served while shutting down; nothing new is started.
    if (this.shutdown.signal.aborted) throw new Unavailable('the server is shutting down', { retryAfterSeconds: 1 });
    const key = pullKey(id, release.version, platform);
    let flight = this.flights.get(key);
    const started = flight === undefined;
    if (flight === undefined) flight = this.start(key, id, release, archive);
    else this.totals.joined++;
    // A caller giving up stops waiting; the flight goes on for the others (and to publish).
    const source = await untilAborted(flight.source, signal);
    const via = started && source.kind === 'download' ? 'started' : 'joined';
    if (source.kind === 'store') return this.fromStore(source.pkg, via, signal);
    const body = source.file.follow();
    if (body === undefined) {
      // The download finished and its file closed between our wait and now: it is published.
      const published = this.deps.providers.findPackage(id, release.version, archive.os, archive.arch);
      if (!published) throw new Unavailable(`the pull of ${describe(id)} ${release.version} ${platform} ended without publishing; try again`);
      return this.fromStore(published, via, signal);
    }
    return { size: source.size, sha256: archive.sha256, body, via };
  }

  stats(): ArchivePullStats {
    return { ...this.totals, inFlight: this.flights.size };
  }

  /** Stops every running download (their callers' streams are cut) and waits for them to settle. */
  async close(): Promise<void> {
    this.shutdown.abort();
    await Promise.allSettled([...this.running]);
  }

  private start(key: string, id: ProviderIdentity, release: VerifiedRelease, archive: ReleaseArchive): Flight {
    let resolve!: (s: Source) => void;
    let reject!: (err: unknown) => void;
    const source = new Promise<Source>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Callers that gave up no longer listen; the outcome is still handled here.
    source.catch(() => undefined);
    const flight: Flight = { source };
    this.flights.set(key, flight);
    let attached: Source | undefined;
    const run = this.run(key, id, release, archive, (s) => {
      attached = s;
      resolve(s);
    })
      .catch((err: unknown) => {
        reject(err);
        if (attached?.kind === 'download') this.deps.failed?.(key, err);
      })
      .finally(() => {
        if (this.flights.get(key) === flight) this.flights.delete(key);
        this.running.delete(run);
      });
    this.running.add(run);
    return flight;
  }

  /** Downloads under a lease, or waits for the process holding it; resolves the flight's source on the way. */
  private async run(key: string, id: ProviderIdentity, release: VerifiedRelease, archive: ReleaseArchive, ready: (s: Source) => void): Promise<void> {
    const { owner, leaseMs, peerPollMs, peerWaitMs } = this.options;
    const signal = this.shutdown.signal;
    const deadline = this.now() + peerWaitMs;
    let waited = false;
    for (;;) {
      const leased = await whenNotBusy(() => this.deps.leases.acquire(key, owner, leaseMs, this.now()), { maxWaitMs: 5_000, signal });
      // Published meanwhile (by the lease's previous holder, or an admin load): nothing to download.
      const held = this.deps.providers.findPackage(id, release.version, archive.os, archive.arch);
      if (held) {
        if (leased) await this.releaseLease(key);
        ready({ kind: 'store', pkg: held });
        return;
      }
      if (leased) {
        try {
          await this.download(key, id, release, archive, ready);
        } finally {
          await this.releaseLease(key);
        }
        return;
      }
      if (!waited) this.totals.peerWaits++;
      waited = true;
      if (this.now() >= deadline) {
        throw new Unavailable(`another mirror process has been downloading ${archive.filename} for more than ${Math.round(peerWaitMs / 1000)}s`, {
          retryAfterSeconds: 5,
        });
      }
      await sleep(peerPollMs, undefined, { signal });
    }
  }

  private async download(key: string, id: ProviderIdentity, release: VerifiedRelease, archive: ReleaseArchive, ready: (s: Source) => void): Promise<void> {
    const signal = this.shutdown.signal;
    const heartbeat = setInterval(() => void this.renewLease(key), this.options.heartbeatMs);
    heartbeat.unref();
    try {
      this.totals.downloads++;
      const response = await this.deps.registry(id.hostname).download(archive.downloadUrl, signal);
      let file: GrowingFile;
      try {
        file = await GrowingFile.create(this.deps.staging.newPath(), this.options);
      } catch (err) {
        response.body.destroy();
        throw err;
      }
      ready({ kind: 'download', file, size: response.contentLength });
      let failure: Error | undefined;
      try {
        const sha256 = await this.receive(response.body, file);
        file.complete();
        checkDigest(archive, sha256);
        await this.publish(id, release, archive, file.path, sha256);
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
      }
      // The staging name goes before any caller's stream ends: followers read on through the open descriptor.
      await file.detachWriter();
      if (failure === undefined) {
        file.release();
        return;
      }
      if (failure instanceof IntegrityError) this.totals.integrityFailures++;
      file.fail(failure);
      throw failure;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Appends the upstream body to the staging file, hashing it; the upstream client bounds its size and stalls. */
  private async receive(body: Readable, file: GrowingFile): Promise<string> {
    const hash = createHash('sha256');
    try {
      for await (const chunk of body) {
        const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        hash.update(bytes);
        await file.append(bytes);
        this.totals.bytesFetched += bytes.length;
      }
    } finally {
      body.destroy();
    }
    return hash.digest('hex');
  }

  /** The release's evidence next to its packages, then the package itself (verify, h1, store, record). */
  private async publish(id: ProviderIdentity, release: VerifiedRelease, archive: ReleaseArchive, file: string, sha256: string): Promise<void> {
    const signal = this.shutdown.signal;
    const { store } = this.deps;
    let evidence: VersionEvidence | undefined;
    if (release.signed && release.signature !== undefined) {
      evidence = { shasumsKey: shasumsKey(id, release.version), signatureKey: signatureKey(id, release.version), keyIds: release.keyIds };
      const keys = Buffer.from(JSON.stringify(release.signingKeys));
      await Promise.all([
        storeVersionFile(store, evidence.shasumsKey, release.shasums, { signal }),
        storeVersionFile(store, evidence.signatureKey, release.signature, { signal }),
        storeVersionFile(store, signingKeysKey(id, release.version), keys, { contentType: 'application/json', signal }),
      ]);
    }
    await ingestPackage(
      { store, providers: this.deps.providers, limits: this.deps.limits },
      {
        provider: id,
        version: release.version,
        os: archive.os,
        arch: archive.arch,
        filename: archive.filename,
        file,
        sha256,
        origin: 'pulled',
        holder: { kind: 'pulled' },
        protocols: release.protocols,
        evidence,
        expected: { sha256: archive.sha256 || undefined, h1: archive.h1 },
      },
      signal,
    );
    this.deps.published?.(id, release.version);
  }

  private async fromStore(pkg: PackageRow, via: PulledArchive['via'], signal?: AbortSignal): Promise<PulledArchive> {
    const object = await this.deps.store.get(pkg.objectKey, undefined, signal);
    return { size: object.size, sha256: pkg.sha256, body: object.body, via };
  }

  private async renewLease(key: string): Promise<void> {
    const { owner, leaseMs } = this.options;
    // Losing the lease (we stalled past it) only risks a second download elsewhere; the publish stays idempotent.
    await whenNotBusy(() => this.deps.leases.heartbeat(key, owner, leaseMs, this.now()), { maxWaitMs: this.options.heartbeatMs }).catch(() => undefined);
  }

  private async releaseLease(key: string): Promise<void> {
    // Left behind, it only delays another process's takeover until it expires.
    await whenNotBusy(() => this.deps.leases.release(key, this.options.owner), { maxWaitMs: 5_000 }).catch(() => undefined);
  }
}

/** The archive's digest must be the one the signed SHA256SUMS (or the trusted mirror) names. */
function checkDigest(archive: ReleaseArchive, sha256: string): void {
  if (archive.sha256 === '') {
    // A network mirror vouching with h1: only; ingest checks those before anything is released.
    if ((archive.h1 ?? []).length === 0) throw new IntegrityError(`nothing vouches for ${archive.filename}: no sha256 and no h1 hash`);
    return;
  }
  if (archive.sha256.toLowerCase() !== sha256) {
    throw new IntegrityError(`checksum mismatch for ${archive.filename}: the signed SHA256SUMS names sha256 ${archive.sha256}, the upstream sent ${sha256}`);
  }
}

/** hostname/namespace/type/version/os_arch: one pull, in the in-flight map and the lease table. */
export function pullKey(id: ProviderIdentity, version: string, platform: string): string {
  return `${id.hostname}/${id.namespace}/${id.type}/${version}/${platform}`;
}

function describe(id: ProviderIdentity): string {
  return `${id.hostname}/${id.namespace}/${id.type}`;
}

