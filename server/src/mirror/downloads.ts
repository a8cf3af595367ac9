import type { ProviderRepository } from '../db/providers.js';

/**
 * Buffers download counts in memory and writes them in one transaction every
 * few seconds, so serving an archive never waits on a database write.
 */
export class DownloadCounter {
  private pending = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly providers: ProviderRepository,
    private readonly flushMs = 5_000,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.flush(), this.flushMs).unref();
  }

  record(packageId: number): void {
    this.pending.set(packageId, (this.pending.get(packageId) ?? 0) + 1);
  }

  /** Writes what is buffered; also called on shutdown. */
  flush(): void {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.providers.addDownloads(batch, this.now());
    } catch {
      // The database was busy or closing: keep the counts for the next flush.
      for (const [id, n] of batch) this.pending.set(id, (this.pending.get(id) ?? 0) + n);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }
}
