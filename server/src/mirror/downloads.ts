import type { DownloadTally, ProviderRepository } from '../db/providers.js';

/**
 * Buffers download counts in memory and writes them in one transaction every
 * few seconds, so serving an archive never waits on a database write. Each
 * package's tally keeps the times of its first and last download in the
 * batch, so first_download_at is the moment of the download, not of the flush.
 */
export class DownloadCounter {
  private pending = new Map<number, DownloadTally>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly providers: Pick<ProviderRepository, 'recordDownloads'>,
    private readonly flushMs = 5_000,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.flush(), this.flushMs).unref();
  }

  record(packageId: number): void {
    const at = this.now();
    const t = this.pending.get(packageId);
    if (t) {
      t.count++;
      t.last = at;
    } else {
      this.pending.set(packageId, { count: 1, first: at, last: at });
    }
  }

  /** Writes what is buffered; also called on shutdown. */
  flush(): void {
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
}

function merge(older: DownloadTally, newer: DownloadTally | undefined): DownloadTally {
  if (!newer) return older;
  return { count: older.count + newer.count, first: older.first < newer.first ? older.first : newer.first, last: older.last > newer.last ? older.last : newer.last };
}
