import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/database.js';
import { dataVersion } from '../db/database.js';
import type { PackageRow, ProviderIdentity, ProviderRepository, ProviderRow } from '../db/providers.js';
import { NotFound } from '../errors.js';
import { presentIndex, presentVersion } from './documents.js';

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

/**
 * The single seam for reads that miss. Today the default answers NotFound;
 * pull-through replaces it with a fetch that many concurrent callers share.
 */
export interface MissHandler {
  providerMissing(id: ProviderIdentity): Promise<void>;
  versionMissing(id: ProviderIdentity, version: string): Promise<void>;
}

export const notFoundOnMiss: MissHandler = {
  async providerMissing(id) {
    throw new NotFound(`provider ${id.hostname}/${id.namespace}/${id.type} is not in this mirror`);
  },
  async versionMissing(id, version) {
    throw new NotFound(`version ${version} of ${id.hostname}/${id.namespace}/${id.type} is not in this mirror`);
  },
};

type Entry = Document | ArchiveRef | { missing: true };

export interface MirrorServiceOptions {
  /** Most cached documents. */
  cacheEntries?: number;
  /** How often to look for commits by other processes (ms). */
  pollMs?: number;
  missHandler?: MissHandler;
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
  }

  checkForExternalWrites(): void {
    const v = dataVersion(this.db);
    if (v !== this.lastDataVersion) {
      this.lastDataVersion = v;
      this.invalidate();
    }
  }

  async index(id: ProviderIdentity): Promise<Document> {
    return this.cached(`i|${key(id)}`, async () => {
      const provider = await this.visibleProvider(id);
      const versions = this.providers.listVersions(provider.id);
      if (versions.length === 0) await this.missHandler.providerMissing(id);
      return render(presentIndex(versions), provider.status);
    }) as Promise<Document>;
  }

  async version(id: ProviderIdentity, version: string): Promise<Document> {
    return this.cached(`v|${key(id)}|${version}`, async () => {
      const provider = await this.visibleProvider(id);
      const packages = this.providers.listPackages(provider.id, version);
      if (packages.length === 0) await this.missHandler.versionMissing(id, version);
      return render(presentVersion(packages), provider.status);
    }) as Promise<Document>;
  }

  /**
   * An archive by (provider, version, filename): filenames repeat across
   * versions in hand-made mirrors. Without a version (the older URL form) the
   * filename must name exactly one version's archive, else it is not found.
   */
  async archive(id: ProviderIdentity, filename: string, version?: string): Promise<ArchiveRef> {
    return this.cached(`a|${key(id)}|${version ?? ''}|${filename}`, async () => {
      const provider = await this.visibleProvider(id);
      const pkg =
        version === undefined
          ? this.providers.findArchiveByFilenameOnly(provider.id, filename)
          : this.providers.findArchive(provider.id, version, filename);
      if (!pkg) throw new NotFound(`no archive ${filename}${version === undefined ? '' : ` of version ${version}`} for ${key(id)}`);
      return { pkg, status: provider.status };
    }) as Promise<ArchiveRef>;
  }

  /** Blocked providers are indistinguishable from absent ones. */
  private async visibleProvider(id: ProviderIdentity): Promise<ProviderRow> {
    const provider = this.providers.findProvider(id);
    if (!provider || provider.status === 'blocked') {
      await this.missHandler.providerMissing(id);
      throw new NotFound(`provider ${key(id)} is not in this mirror`);
    }
    return provider;
  }

  /** Caches answers, including "not found", so repeated probes for absent providers stay off the database. */
  private async cached(cacheKey: string, load: () => Promise<Entry>): Promise<Entry> {
    const hit = this.cache.get(cacheKey);
    if (hit) {
      this.hits++;
      if ('missing' in hit) throw new NotFound(`${cacheKey.slice(2).replaceAll('|', ' ')} is not in this mirror`);
      return hit;
    }
    this.misses++;
    const generation = this.generation;
    const remember = (entry: Entry) => {
      if (generation === this.generation) this.cache.set(cacheKey, entry);
    };
    try {
      const entry = await load();
      remember(entry);
      return entry;
    } catch (err) {
      if (err instanceof NotFound) remember({ missing: true });
      throw err;
    }
  }
}

function key(id: ProviderIdentity): string {
  return `${id.hostname}/${id.namespace}/${id.type}`;
}

function render(doc: unknown, status: ProviderRow['status']): Document {
  const body = Buffer.from(JSON.stringify(doc));
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, etag, status };
}
