import type { DownloadTally, ProviderIdentity, ProviderRepository } from '../db/providers.js';

type Repository = Pick<ProviderRepository, 'recordDownloads' | 'findProvider' | 'findArchive' | 'findArchiveByFilenameOnly'>;

/** A download served while its package was being pulled: it has no row (no id) until the pull publishes it. */
interface PulledDownload {
  provider: ProviderIdentity;
  version: string | undefined;
  filename: string;
  tally: DownloadTally;
}

/** A pulled download whose package never appeared (the pull failed) is forgotten after this long. */
const PULLED_PATIENCE_MS = 15 * 60_000;

/**
 * Buffers download counts in memory and writes them in one transaction every
 * few seconds, so serving an archive never waits on a database write. Each
 * package's tally keeps the times of its first and last download in the
 * batch, so first_download_at is the moment of the download, not of the flush.
 */
export class DownloadCounter {
  private pending = new Map<number, DownloadTally>();
  private pulled = new Map<string, PulledDownload>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly providers: Repository,
    private readonly flushMs = 5_000,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.flush(), this.flushMs).unref();
  }

  record(packageId: number): void {
    addTo(this.pending, packageId, this.now());
  }

  /**
   * A download answered from a pull in progress (the one that started it or
   * one that joined): counted against the package once the pull has
   * published it, so a pulled package's first download is its first client's.
   */
  recordPulled(provider: ProviderIdentity, filename: string, version?: string): void {
    const key = `${provider.hostname}/${provider.namespace}/${provider.type}|${version ?? ''}|${filename}`;
    const at = this.now();
    const seen = this.pulled.get(key);
    if (seen) {
      seen.tally.count++;
      seen.tally.last = at;
    } else {
      this.pulled.set(key, { provider, version, filename, tally: { count: 1, first: at, last: at } });
    }
  }

  /** Writes what is buffered; also called on shutdown. */
  flush(): void {
    this.resolvePulled();
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.providers.recordDownloads(batch);
    } catch {
      // The database was busy or closing: keep the tallies for the next flush,
      // merged with what was counted meanwhile.
      for (const [id, t] of batch) this.pending.set(id, merge(t, this.pending.get(id)));
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  /** Moves pulled downloads whose package is now recorded into the pending tallies. */
  private resolvePulled(): void {
    const now = this.now().getTime();
    for (const [key, d] of this.pulled) {
      let id: number | undefined;
      try {
        const provider = this.providers.findProvider(d.provider);
        const pkg =
          provider === undefined
            ? undefined
            : d.version === undefined
              ? this.providers.findArchiveByFilenameOnly(provider.id, d.filename)
              : this.providers.findArchive(provider.id, d.version, d.filename);
        id = pkg?.id;
      } catch {
        continue; // busy or closing: the next flush looks again
      }
      if (id !== undefined) {
        this.pending.set(id, merge(d.tally, this.pending.get(id)));
        this.pulled.delete(key);
      } else if (now - d.tally.last.getTime() > PULLED_PATIENCE_MS) {
        this.pulled.delete(key);
      }
    }
  }
}

function addTo(tallies: Map<number, DownloadTally>, id: number, at: Date): void {
  const t = tallies.get(id);
  if (t) {
    t.count++;
    t.last = at;
  } else {
    tallies.set(id, { count: 1, first: at, last: at });
  }
}

function merge(older: DownloadTally, newer: DownloadTally | undefined): DownloadTally {
  if (!newer) return older;
  return { count: older.count + newer.count, first: older.first < newer.first ? older.first : newer.first, last: older.last > newer.last ? older.last : newer.last };
}
