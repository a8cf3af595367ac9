import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/database.js';
import { dataVersion } from '../db/database.js';
import type { PackageRow, ProviderIdentity, ProviderRepository, ProviderRow } from '../db/providers.js';
import { NotFound } from '../errors.js';
import { formatModuleAddress } from '../modules/address.js';
import type { ModuleAddress, ModuleRow, ModuleStatus, ModuleVersionRow } from '../modules/ports.js';
import type { PulledArchive, VerifiedRelease } from '../pull/ports.js';
import { compareVersions, isPrerelease, isValidVersion } from '../providers/version.js';
import type { UpstreamVersion } from '../upstream/documents.js';
import { presentIndex, presentModuleVersions, presentRegistryVersions, presentVersion } from './documents.js';

/** A rendered JSON document, ready to send: the bytes and their strong ETag. */
export interface Document {
  body: Buffer;
  etag: string;
  status: ProviderRow['status'];
}

export interface ArchiveRef {
  pkg: PackageRow;
  status: ProviderRow['status'];
}

/** A module's versions list, with the version `…/download` (no version) leads to. */
export interface ModuleVersionsDocument extends Document {
  /** The newest version that is not a prerelease; undefined when there is none. */
  latest: string | undefined;
}

/** A module version held by the mirror (or just pulled into it). */
export interface HeldModuleVersion {
  row: ModuleVersionRow;
  status: ModuleStatus;
}

/** What the read path reads of held modules (ModuleRepository in db/modules.ts). */
export interface HeldModules {
  findModule(address: ModuleAddress): ModuleRow | undefined;
  listVersions(moduleId: number): ModuleVersionRow[];
  findVersion(moduleId: number, version: string): ModuleVersionRow | undefined;
}

/**
 * What the miss seam answers. `hit`: answer from what is held (nothing to add
 * from upstream); `pulled` / `stale`: the upstream's answer (fresh, or served
 * past metadata_ttl because the upstream failed); `refused`: not in this
 * mirror (pull-through off, not included, excluded, no such upstream, or the
 * upstream has no such thing). `ttlMs` bounds how long the mirror may reuse a
 * document built from it; absent, it is reused until the next write.
 */
export type MissAnswer<T> =
  | { outcome: 'refused'; reason: string; ttlMs?: number }
  | { outcome: 'hit'; ttlMs?: number }
  | { outcome: 'pulled' | 'stale'; value: T; ttlMs: number };

export type MissOutcome = MissAnswer<unknown>['outcome'];

/**
 * The single seam for reads that the database alone cannot answer. Blocked
 * providers never reach it. `held` says whether the mirror already has
 * something to answer with, so the seam decides between "serve what is held"
 * and "fail" when the upstream cannot be asked. Failures it cannot answer
 * around are thrown as typed errors (Unavailable → 503 with Retry-After).
 */
export interface MissHandler {
  /** The upstream's versions of a provider, merged into index.json and the registry versions list. */
  versions(id: ProviderIdentity, held: boolean, signal?: AbortSignal): Promise<MissAnswer<UpstreamVersion[]>>;
  /** A release's verified evidence, for a version's platforms not (all) held. */
  release(id: ProviderIdentity, version: string, held: boolean, signal?: AbortSignal): Promise<MissAnswer<VerifiedRelease>>;
  /** An archive not held: one upstream download shared by every concurrent caller. */
  archive(id: ProviderIdentity, version: string, filename: string, signal?: AbortSignal): Promise<MissAnswer<PulledArchive>>;
  /** The upstream's versions of a module, merged into its versions list. */
  moduleVersions(address: ModuleAddress, held: boolean, signal?: AbortSignal): Promise<MissAnswer<string[]>>;
  /** A module version not held: fetched, stored and recorded once for every concurrent caller. */
  moduleDownload(address: ModuleAddress, version: string, signal?: AbortSignal): Promise<MissAnswer<ModuleVersionRow>>;
}

/** Pull-through off: what is held, nothing else. */
export const notFoundOnMiss: MissHandler = {
  versions: async (_id, held) => (held ? { outcome: 'hit' } : { outcome: 'refused', reason: 'not held' }),
  release: async (_id, _version, held) => (held ? { outcome: 'hit' } : { outcome: 'refused', reason: 'not held' }),
  archive: async () => ({ outcome: 'refused', reason: 'not held' }),
  moduleVersions: async (_a, held) => (held ? { outcome: 'hit' } : { outcome: 'refused', reason: 'not held' }),
  moduleDownload: async () => ({ outcome: 'refused', reason: 'not held' }),
};

/** An archive not held, as it streams from the upstream through the puller. */
export interface PulledRef {
  pulled: PulledArchive;
  provider: ProviderIdentity;
  version: string;
  filename: string;
}

type Entry = Document | ArchiveRef | HeldModuleVersion | { missing: true; message: string } | { pull: true };

interface Loaded {
  entry: Entry;
  /** undefined: until the next write (invalidate); 0: not cached. */
  ttlMs?: number;
}

export interface MirrorServiceOptions {
  /** Most cached documents. */
  cacheEntries?: number;
  /** How often to look for commits by other processes (ms). */
  pollMs?: number;
  missHandler?: MissHandler;
  /** A held version's stored evidence (held-evidence.ts), so the registry pass-through needs no upstream for it. */
  heldRelease?: (id: ProviderIdentity, version: string, signal?: AbortSignal) => Promise<VerifiedRelease | undefined>;
  /** Held modules; absent: none are held, every module read goes to the seam. */
  modules?: HeldModules;
}

/**
 * The read path. Documents are rendered once and kept in an LRU; a warm
 * request costs a map lookup. Any write in this process calls invalidate();
 * writes by other processes (import, load) are noticed by polling SQLite's
 * data_version off the request path.
 */
export class MirrorService {
  private readonly cache: LRUCache<string, Entry>;
  private readonly missHandler: MissHandler;
  private lastDataVersion: number;
  /** Bumped by invalidate(), so a load that raced a write does not cache its stale answer. */
  private generation = 0;
  private poller: NodeJS.Timeout | undefined;
  private readonly invalidated: (() => void)[] = [];
  hits = 0;
  misses = 0;

  constructor(
    private readonly db: Database,
    private readonly providers: ProviderRepository,
    private readonly opts: MirrorServiceOptions = {},
  ) {
    this.cache = new LRUCache({ max: opts.cacheEntries ?? 10_000 });
    this.missHandler = opts.missHandler ?? notFoundOnMiss;
    this.lastDataVersion = dataVersion(db);
  }

  start(): void {
    this.poller ??= setInterval(() => this.checkForExternalWrites(), this.opts.pollMs ?? 500).unref();
  }

  stop(): void {
    clearInterval(this.poller);
    this.poller = undefined;
  }

  invalidate(): void {
    this.generation++;
    this.cache.clear();
    for (const listener of this.invalidated) listener();
  }

  /** Called after every invalidation: copies of documents elsewhere (read-serving workers) follow it. */
  onInvalidate(listener: () => void): void {
    this.invalidated.push(listener);
  }

  checkForExternalWrites(): void {
    const v = dataVersion(this.db);
    if (v !== this.lastDataVersion) {
      this.lastDataVersion = v;
      this.invalidate();
    }
  }

  /**
   * A cached index.json or {version}.json, or undefined: nothing is loaded,
   * asked or awaited. The warm path (warm-path.ts) answers with it before the
   * router; anything else, a cached "not found" included, takes the full path.
   */
  peekDocument(path: { kind: 'index'; provider: ProviderIdentity } | { kind: 'version'; provider: ProviderIdentity; version: string }): Document | undefined {
    const hit = this.cache.get(path.kind === 'index' ? indexKey(path.provider) : versionKey(path.provider, path.version));
    if (hit === undefined || !('body' in hit)) return undefined;
    this.hits++;
    return hit;
  }

  async index(id: ProviderIdentity, signal?: SignalSource): Promise<Document> {
    return this.cached(indexKey(id), async () => {
      const provider = this.providers.findProvider(id);
      if (provider?.status === 'blocked') return hidden(id);
      const held = provider ? this.providers.listVersions(provider.id) : [];
      const miss = await this.missHandler.versions(id, held.length > 0, signalOf(signal));
      if (miss.outcome === 'refused') return missing(`provider ${key(id)} is not in this mirror`, miss.ttlMs);
      const upstream = miss.outcome === 'hit' ? [] : miss.value.map((v) => v.version);
      const versions = [...new Set([...held, ...upstream])];
      return { entry: render(presentIndex(versions), provider?.status ?? 'active'), ttlMs: miss.ttlMs };
    }) as Promise<Document>;
  }

  async version(id: ProviderIdentity, version: string, signal?: SignalSource): Promise<Document> {
    return this.cached(versionKey(id, version), async () => {
      const provider = this.providers.findProvider(id);
      if (provider?.status === 'blocked') return hidden(id);
      const packages = provider ? this.providers.listPackages(provider.id, version) : [];
      const miss = await this.missHandler.release(id, version, packages.length > 0, signalOf(signal));
      if (miss.outcome === 'refused') return missing(`version ${version} of ${key(id)} is not in this mirror`, miss.ttlMs);
      const release = miss.outcome === 'hit' ? undefined : miss.value;
      return { entry: render(presentVersion(packages, release), provider?.status ?? 'active'), ttlMs: miss.ttlMs };
    }) as Promise<Document>;
  }

  /**
   * An archive by (provider, version, filename): filenames repeat across
   * versions in hand-made mirrors. Without a version (the older URL form) the
   * filename must name exactly one version's archive, else it is not found,
   * and it is never pulled. An archive not held is pulled through the seam;
   * its stream is never cached.
   */
  async archive(id: ProviderIdentity, filename: string, version?: string, signal?: AbortSignal): Promise<ArchiveRef | PulledRef> {
    const held = await this.cached(`a|${key(id)}|${version ?? ''}|${filename}`, async () => {
      const provider = this.providers.findProvider(id);
      if (provider?.status === 'blocked') return hidden(id);
      const pkg =
        provider === undefined
          ? undefined
          : version === undefined
            ? this.providers.findArchiveByFilenameOnly(provider.id, filename)
            : this.providers.findArchive(provider.id, version, filename);
      if (pkg && provider) return { entry: { pkg, status: provider.status } };
      if (version === undefined) return missing(`no archive ${filename} for ${key(id)}`);
      // Not held: not cached as missing, so the pull below is asked every time.
      return { entry: { pull: true } };
    });
    if (!('pull' in held)) return held as ArchiveRef;
    const miss = await this.missHandler.archive(id, version!, filename, signal);
    if (miss.outcome === 'pulled' || miss.outcome === 'stale') return { pulled: miss.value, provider: id, version: version!, filename };
    throw new NotFound(`no archive ${filename} of version ${version} for ${key(id)}`);
  }

  /** The package row of a pulled archive once it is published (its download is counted then); no cache. */
  publishedPackageId(ref: PulledRef): number | undefined {
    const provider = this.providers.findProvider(ref.provider);
    return provider && this.providers.findArchive(provider.id, ref.version, ref.filename)?.id;
  }

  /** The registry protocol's versions list: what is held merged with the upstream's, with platforms. */
  async registryVersions(id: ProviderIdentity, signal?: AbortSignal): Promise<Document> {
    return this.cached(`rv|${key(id)}`, async () => {
      const provider = this.providers.findProvider(id);
      if (provider?.status === 'blocked') return hidden(id);
      const heldVersions = provider ? this.providers.listVersions(provider.id) : [];
      const miss = await this.missHandler.versions(id, heldVersions.length > 0, signal);
      if (miss.outcome === 'refused') return missing(`provider ${key(id)} is not in this mirror`, miss.ttlMs);
      const byVersion = new Map<string, UpstreamVersion>();
      if (miss.outcome !== 'hit') for (const v of miss.value) byVersion.set(v.version, v);
      for (const v of heldVersions) {
        if (byVersion.has(v) || !provider) continue;
        const platforms = this.providers.listPackages(provider.id, v).map((p) => ({ os: p.os, arch: p.arch }));
        byVersion.set(v, { version: v, protocols: ['5.0'], platforms } as UpstreamVersion);
      }
      return { entry: render(presentRegistryVersions([...byVersion.values()]), provider?.status ?? 'active'), ttlMs: miss.ttlMs };
    }) as Promise<Document>;
  }

  /**
   * A version's verified release (SHA256SUMS, signature, keys) for the
   * registry protocol: the signing keys are what lets Terraform verify the
   * signature itself. A held version answers from the evidence stored next to
   * its packages, without the upstream; one held without evidence (imported)
   * asks the upstream through the seam.
   */
  async registryRelease(id: ProviderIdentity, version: string, signal?: AbortSignal): Promise<VerifiedRelease> {
    const provider = this.providers.findProvider(id);
    if (provider?.status === 'blocked') throw new NotFound(`provider ${key(id)} is not in this mirror`);
    if (provider && this.opts.heldRelease && this.providers.listPackages(provider.id, version).length > 0) {
      const held = await this.opts.heldRelease(id, version, signal);
      if (held) return held;
    }
    const miss = await this.missHandler.release(id, version, false, signal);
    if (miss.outcome === 'pulled' || miss.outcome === 'stale') return miss.value;
    throw new NotFound(`version ${version} of ${key(id)} is not in this mirror`);
  }

  /**
   * The module registry protocol's versions list: held versions merged with
   * the upstream's (through the seam), newest first. A blocked module is
   * absent and never reaches the seam.
   */
  async moduleVersions(a: ModuleAddress, signal?: SignalSource): Promise<ModuleVersionsDocument> {
    return this.cached(`mv|${moduleKey(a)}`, async () => {
      const module = this.opts.modules?.findModule(a);
      if (module?.status === 'blocked') return hiddenModule(a);
      const held = module ? this.opts.modules!.listVersions(module.id).map((v) => v.version) : [];
      const miss = await this.missHandler.moduleVersions(a, held.length > 0, signalOf(signal));
      if (miss.outcome === 'refused') return missing(`module ${formatModuleAddress(a)} is not in this mirror`, miss.ttlMs);
      const upstream = miss.outcome === 'hit' ? [] : miss.value;
      const versions = [...new Set([...held, ...upstream])].filter(isValidVersion).sort((x, y) => compareVersions(y, x));
      const doc: ModuleVersionsDocument = { ...render(presentModuleVersions(versions), module?.status ?? 'active'), latest: versions.find((v) => !isPrerelease(v)) };
      return { entry: doc, ttlMs: miss.ttlMs };
    }) as Promise<ModuleVersionsDocument>;
  }

  /**
   * A module version for its download answer: held, or else pulled through
   * the seam (stored and recorded before this returns, so the archive URL
   * handed out names bytes the mirror has).
   */
  async moduleDownload(a: ModuleAddress, version: string, signal?: AbortSignal): Promise<HeldModuleVersion> {
    const held = await this.heldModule(a, version);
    if (!('pull' in held)) return held as HeldModuleVersion;
    const miss = await this.missHandler.moduleDownload(a, version, signal);
    if (miss.outcome === 'pulled' || miss.outcome === 'stale') return { row: miss.value, status: this.opts.modules?.findModule(a)?.status ?? 'active' };
    throw new NotFound(`version ${version} of module ${formatModuleAddress(a)} is not in this mirror`);
  }

  /** A held module version for its archive; never pulled (the download answer pulls). */
  async moduleArchive(a: ModuleAddress, version: string): Promise<HeldModuleVersion> {
    const held = await this.heldModule(a, version);
    if ('pull' in held) throw new NotFound(`version ${version} of module ${formatModuleAddress(a)} is not in this mirror`);
    return held as HeldModuleVersion;
  }

  private heldModule(a: ModuleAddress, version: string): Promise<Entry> {
    return this.cached(`mh|${moduleKey(a)}|${version}`, async () => {
      const module = this.opts.modules?.findModule(a);
      if (module?.status === 'blocked') return hiddenModule(a);
      const row = module && this.opts.modules!.findVersion(module.id, version);
      if (module && row) return { entry: { row, status: module.status } };
      // Not held: not cached as missing, so the pull is asked every time (a pull invalidates on publish).
      return { entry: { pull: true } };
    });
  }

  /**
   * Caches answers, including "not found", so repeated probes for absent
   * providers stay off the database. Answers built from the upstream's carry
   * a ttl (what is left of metadata_ttl), so a version published upstream
   * shows up; local writes clear everything through invalidate().
   */
  private async cached(cacheKey: string, load: () => Promise<Loaded>): Promise<Entry> {
    const hit = this.cache.get(cacheKey);
    if (hit) {
      this.hits++;
      if ('missing' in hit) throw new NotFound(hit.message);
      return hit;
    }
    this.misses++;
    const generation = this.generation;
    const remember = (loaded: Loaded) => {
      if (generation !== this.generation || loaded.ttlMs === 0) return;
      this.cache.set(cacheKey, loaded.entry, loaded.ttlMs === undefined ? undefined : { ttl: Math.max(1, Math.round(loaded.ttlMs)) });
    };
    // Errors thrown from below (the upstream failing, a NotFound it sent) are
    // not cached: only answers are, each for as long as it says.
    const loaded = await load();
    remember(loaded);
    if ('missing' in loaded.entry) throw new NotFound(loaded.entry.message);
    return loaded.entry;
  }
}

/** Blocked providers are indistinguishable from absent ones, and never reach the seam. */
function hidden(id: ProviderIdentity): Loaded {
  return missing(`provider ${key(id)} is not in this mirror`);
}

function hiddenModule(a: ModuleAddress): Loaded {
  return missing(`module ${formatModuleAddress(a)} is not in this mirror`);
}

/** Module addresses are case-insensitive in the registry protocol: one cache entry however a client spells them. */
function moduleKey(a: ModuleAddress): string {
  return formatModuleAddress(a).toLowerCase();
}

function missing(message: string, ttlMs?: number): Loaded {
  return { entry: { missing: true, message }, ttlMs };
}

/** A signal, or how to make one: a warm read answered from the cache never needs one, so it need not pay for it. */
export type SignalSource = AbortSignal | (() => AbortSignal);

function signalOf(source: SignalSource | undefined): AbortSignal | undefined {
  return typeof source === 'function' ? source() : source;
}

function key(id: ProviderIdentity): string {
  return `${id.hostname}/${id.namespace}/${id.type}`;
}

const indexKey = (id: ProviderIdentity) => `i|${key(id)}`;
const versionKey = (id: ProviderIdentity, version: string) => `v|${key(id)}|${version}`;

function render(doc: unknown, status: ProviderRow['status']): Document {
  const body = Buffer.from(JSON.stringify(doc));
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, etag, status };
}
