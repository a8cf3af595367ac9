import { Counter, type Registry } from 'prom-client';
import { scrapedGauges, scrapedTotals } from './scraped.js';

/**
 * What the read path's miss seam (PullThrough.stats) and the archive puller
 * (SingleFlightArchivePuller.stats()) report, restated here so metrics depend
 * on a shape, not on the pull-through code.
 */
export interface PullSeamSnapshot {
  seam: SeamCounts;
  /** The same answers for module reads (PullThrough.moduleStats). */
  modules?: SeamCounts;
  archives?: { downloads: number; bytesFetched: number; joined: number; peerWaits: number; integrityFailures: number; inFlight: number };
}

interface SeamCounts {
  misses: number;
  hits: number;
  pulled: number;
  stale: number;
  refused: number;
  coalesced: number;
  failed: number;
}

const ANSWERS = ['hit', 'pulled', 'stale', 'refused', 'failed'] as const;

/** Series computed at scrape time from `read` (undefined: the source failed, keep the last values). */
export function registerPullSeamMetrics(registry: Registry, read: () => PullSeamSnapshot | undefined): void {
  const registers = [registry];
  const total = scrapedTotals(registry, read);
  const answers = (name: string, help: string, pick: (s: PullSeamSnapshot) => SeamCounts | undefined) =>
    new Counter({
      name,
      help,
      labelNames: ['answer'],
      registers,
      collect() {
        const s = read();
        const c = s && pick(s);
        if (!c) return;
        this.reset();
        const by: Record<(typeof ANSWERS)[number], number> = { hit: c.hits, pulled: c.pulled, stale: c.stale, refused: c.refused, failed: c.failed };
        for (const answer of ANSWERS) this.inc({ answer }, by[answer]);
      },
    });
  total('pull_misses_total', 'Reads the database alone could not answer that reached the pull-through seam for a provider it covers', (s) => s.seam.misses);
  answers(
    'pull_answers_total',
    'Answers of the pull-through seam: hit (what is held, the upstream slow or failing), pulled (fresh upstream answer or download), stale (upstream metadata past metadata_ttl), refused (not covered, or absent upstream), failed (503, 502, integrity)',
    (s) => s.seam,
  );
  total('pull_coalesced_waiters_total', 'Callers that joined an upstream lookup or archive download already in flight instead of starting one', (s) => s.seam.coalesced);
  total('pull_module_misses_total', 'Module reads (versions lists, downloads of versions not held) that reached the pull-through seam for a module it covers', (s) => s.modules?.misses);
  answers(
    'pull_module_answers_total',
    'Answers of the pull-through seam for modules: hit (what is held), pulled (fresh upstream list, or a version fetched and stored), stale (a list past metadata_ttl), refused (not covered, or absent upstream), failed (503, 502)',
    (s) => s.modules,
  );
  total('pull_module_coalesced_waiters_total', 'Module reads that joined an upstream lookup or module fetch already in flight instead of starting one', (s) => s.modules?.coalesced);
  total('pull_archive_downloads_total', 'Upstream archive downloads started by this process', (s) => s.archives?.downloads);
  total('pull_archive_bytes_fetched_total', 'Archive bytes received from upstreams by this process', (s) => s.archives?.bytesFetched);
  total('pull_archive_peer_waits_total', "Pulls that waited for another process's download (lease) instead of starting one", (s) => s.archives?.peerWaits);
  total('pull_archive_integrity_failures_total', 'Archive downloads refused because the bytes failed a check (every caller was cut, nothing stored)', (s) => s.archives?.integrityFailures);
  scrapedGauges(registry, read)('pull_archive_downloads_in_flight', 'Upstream archive downloads running now in this process', (s) => s.archives?.inFlight);
}
