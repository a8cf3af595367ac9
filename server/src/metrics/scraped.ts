import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Series whose value is read from a source at scrape time rather than
 * counted as things happen: the sources (disk cache, pull-through seam) keep
 * their own running totals, and a series restates the latest one. When the
 * source gives nothing (`read` or `pick` undefined: not configured, or it
 * failed) the series keeps its last value instead of dropping to zero.
 */
export type ScrapedSeries<S> = (name: string, help: string, pick: (s: S) => number | undefined) => void;

/** A counter set to the source's running total at each scrape. */
export function scrapedTotals<S>(registry: Registry, read: () => S | undefined): ScrapedSeries<S> {
  return (name, help, pick) => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const s = read();
        const v = s && pick(s);
        if (v === undefined) return;
        this.reset();
        this.inc(v);
      },
    });
  };
}

/** A gauge set to the source's current value at each scrape. */
export function scrapedGauges<S>(registry: Registry, read: () => S | undefined): ScrapedSeries<S> {
  return (name, help, pick) => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const s = read();
        const v = s && pick(s);
        if (v !== undefined) this.set(v);
      },
    });
  };
}
