/**
 * Pull-through figures for the dashboard, read from the server's /metrics
 * (Prometheus text): the admin API has no JSON for them, and /metrics is
 * served beside the admin API, unauthenticated, holding counts only.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const value = Number(m[3]);
    if (!Number.isNaN(value)) out.push({ name: m[1]!, labels, value });
  }
  return out;
}

export interface PullThroughSummary {
  /** Network mirror and registry reads answered since the server started. */
  reads: number;
  /** Reads the database alone could not answer (providers and modules). */
  misses: number;
  /** Share of reads answered from what the mirror holds, without asking the seam; undefined before any read. */
  hitRatio: number | undefined;
  /** How the seam answered those misses: hit, pulled, stale, refused, failed. */
  answers: Record<string, number>;
  upstreams: { hostname: string; backingOff: boolean }[];
}

// Requests that are not Terraform reads: the admin API, the UI, probes, discovery and configuration.
const NOT_READS = ['/admin', '/ui', '/metrics', '/healthz', '/readyz', '/client-config', '/.well-known', 'unmatched'];

/** undefined when the server exports no pull-through series (an older server). */
export function pullThroughSummary(samples: Sample[]): PullThroughSummary | undefined {
  if (!samples.some((s) => s.name.startsWith('pull_'))) return undefined;
  const sum = (pick: (s: Sample) => boolean) => samples.filter(pick).reduce((n, s) => n + s.value, 0);
  const reads = sum((s) => s.name === 'http_requests_total' && s.labels.method === 'GET' && !NOT_READS.some((p) => (s.labels.route ?? '').startsWith(p)));
  const misses = sum((s) => s.name === 'pull_misses_total' || s.name === 'pull_module_misses_total');
  const answers: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== 'pull_answers_total' && s.name !== 'pull_module_answers_total') continue;
    const answer = s.labels.answer ?? 'other';
    answers[answer] = (answers[answer] ?? 0) + s.value;
  }
  const upstreams = samples
    .filter((s) => s.name === 'pull_upstream_state' && s.labels.hostname)
    .map((s) => ({ hostname: s.labels.hostname!, backingOff: s.value !== 0 }));
  return { reads, misses, hitRatio: reads > 0 ? Math.max(0, (reads - Math.min(misses, reads)) / reads) : undefined, answers, upstreams };
}
