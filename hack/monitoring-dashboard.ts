/**
 * The Grafana dashboard over the server's /metrics, as code: `npm run
 * gen:monitoring` writes it once as JSON for the chart and for config/monitoring,
 * and test/deploy/monitoring.test.ts checks every metric it names against a
 * real server's scrape.
 */

type Json = Record<string, unknown>;

/** Every query selects the chosen scrape job and instances, so several releases share one Prometheus. */
const SEL = 'job=~"$job", instance=~"$instance"';
const RATE = '$__rate_interval';

interface Target {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  description: string;
  targets: Target[];
  unit: string;
  kind?: 'timeseries' | 'stat' | 'state-timeline';
  width?: number;
  stack?: boolean;
  /** Fixed axis range, e.g. [0, 1] for ratios. */
  range?: [number, number];
  mappings?: Json[];
  thresholds?: Array<{ color: string; value: number | null }>;
}

const target = (expr: string, legend: string): Target => ({ expr, legend });

function panel(p: PanelSpec, id: number, x: number, y: number): Json {
  const kind = p.kind ?? 'timeseries';
  const custom: Json =
    kind === 'timeseries'
      ? { drawStyle: 'line', lineWidth: 1, fillOpacity: p.stack ? 30 : 10, showPoints: 'never', spanNulls: false, stacking: { mode: p.stack ? 'normal' : 'none', group: 'A' } }
      : {};
  const defaults: Json = { unit: p.unit, custom };
  if (p.range) Object.assign(defaults, { min: p.range[0], max: p.range[1] });
  if (p.mappings) defaults.mappings = p.mappings;
  if (p.thresholds) defaults.thresholds = { mode: 'absolute', steps: p.thresholds };
  const options: Json =
    kind === 'timeseries'
      ? { legend: { displayMode: 'table', placement: 'bottom', calcs: ['mean', 'max', 'lastNotNull'] }, tooltip: { mode: 'multi', sort: 'desc' } }
      : kind === 'stat'
        ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'area', textMode: 'auto' }
        : { showValue: 'never', mergeValues: true, rowHeight: 0.8 };
  return {
    id,
    type: kind,
    title: p.title,
    description: p.description,
    datasource: { type: 'prometheus', uid: '${datasource}' },
    gridPos: { x, y, w: p.width ?? 12, h: 8 },
    fieldConfig: { defaults, overrides: [] },
    options,
    targets: p.targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: { type: 'prometheus', uid: '${datasource}' },
      expr: t.expr,
      legendFormat: t.legend,
      range: true,
    })),
  };
}

const ROWS: Array<{ title: string; panels: PanelSpec[] }> = [
  {
    title: 'Requests',
    panels: [
      {
        title: 'Request rate by route',
        description: 'Requests answered per second, by matched route pattern (unmatched: no route claimed the path).',
        targets: [target(`sum by (route) (rate(http_requests_total{${SEL}}[${RATE}]))`, '{{route}}')],
        unit: 'reqps',
        stack: true,
      },
      {
        title: 'Responses by status class',
        description: 'Requests per second by status class; 5xx are failures of the mirror or its upstreams, 4xx mostly clients asking for what is not held.',
        targets: [
          target(`sum by (class) (label_replace(rate(http_requests_total{${SEL}}[${RATE}]), "class", "\${1}xx", "status", "([0-9]).."))`, '{{class}}'),
        ],
        unit: 'reqps',
        stack: true,
      },
      {
        title: 'Latency p50 by route',
        description: 'Median time to answer; streamed archives are timed until fully sent.',
        targets: [target(`histogram_quantile(0.5, sum by (le, route) (rate(http_request_duration_seconds_bucket{${SEL}}[${RATE}])))`, '{{route}}')],
        unit: 's',
      },
      {
        title: 'Latency p99 by route',
        description: 'The 99th percentile time to answer; a warm index.json should stay in the lowest buckets.',
        targets: [target(`histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{${SEL}}[${RATE}])))`, '{{route}}')],
        unit: 's',
      },
      {
        title: 'Mean latency by route',
        description: 'Total time spent answering divided by requests, by route.',
        targets: [
          target(
            `sum by (route) (rate(http_request_duration_seconds_sum{${SEL}}[${RATE}])) / sum by (route) (rate(http_request_duration_seconds_count{${SEL}}[${RATE}]))`,
            '{{route}}',
          ),
        ],
        unit: 's',
      },
      {
        title: 'Archive bytes served',
        description: 'Provider archive bytes sent to clients in full (redirects to presigned URLs send none).',
        targets: [target(`sum(rate(bytes_served_total{${SEL}}[${RATE}]))`, 'served')],
        unit: 'Bps',
      },
    ],
  },
  {
    title: 'Caches',
    panels: [
      {
        title: 'Document cache hit ratio',
        description: 'Share of read-path lookups answered from the in-memory document cache rather than the database.',
        targets: [
          target(
            `sum(rate(mirror_cache_hits_total{${SEL}}[${RATE}])) / (sum(rate(mirror_cache_hits_total{${SEL}}[${RATE}])) + sum(rate(mirror_cache_misses_total{${SEL}}[${RATE}])))`,
            'hit ratio',
          ),
        ],
        unit: 'percentunit',
        range: [0, 1],
      },
      {
        title: 'Archive disk cache hit ratio',
        description: 'Share of archive reads answered from the local disk cache in front of object storage (no data: the disk cache is off).',
        targets: [
          target(
            `sum(rate(archive_disk_cache_hits_total{${SEL}}[${RATE}])) / (sum(rate(archive_disk_cache_hits_total{${SEL}}[${RATE}])) + sum(rate(archive_disk_cache_misses_total{${SEL}}[${RATE}])))`,
            'hit ratio',
          ),
        ],
        unit: 'percentunit',
        range: [0, 1],
      },
      {
        title: 'Archive disk cache fill',
        description: 'Bytes held against cache.disk_max_size; evictions and bypasses per second show a cache too small for the working set.',
        targets: [
          target(`sum(archive_disk_cache_bytes{${SEL}})`, 'held'),
          target(`sum(archive_disk_cache_max_bytes{${SEL}})`, 'limit'),
        ],
        unit: 'bytes',
      },
      {
        title: 'Archive disk cache activity',
        description: 'Fills from object storage, evictions, invalidations, reads that bypassed the cache and integrity failures, per second.',
        targets: [
          target(`sum(rate(archive_disk_cache_fills_total{${SEL}}[${RATE}]))`, 'fills'),
          target(`sum(rate(archive_disk_cache_evictions_total{${SEL}}[${RATE}]))`, 'evictions'),
          target(`sum(rate(archive_disk_cache_invalidations_total{${SEL}}[${RATE}]))`, 'invalidations'),
          target(`sum(rate(archive_disk_cache_bypassed_total{${SEL}}[${RATE}]))`, 'bypassed'),
          target(`sum(rate(archive_disk_cache_integrity_failures_total{${SEL}}[${RATE}]))`, 'integrity failures'),
        ],
        unit: 'ops',
      },
    ],
  },
  {
    title: 'Pull-through',
    panels: [
      {
        title: 'Provider pull-through answers',
        description: 'Reads the database could not answer, by how the pull-through seam answered them: hit, pulled, stale, refused, failed.',
        targets: [
          target(`sum by (answer) (rate(pull_answers_total{${SEL}}[${RATE}]))`, '{{answer}}'),
          target(`sum(rate(pull_misses_total{${SEL}}[${RATE}]))`, 'misses'),
        ],
        unit: 'ops',
      },
      {
        title: 'Module pull-through answers',
        description: 'Module reads (versions lists, downloads of versions not held) by answer of the pull-through seam.',
        targets: [
          target(`sum by (answer) (rate(pull_module_answers_total{${SEL}}[${RATE}]))`, '{{answer}}'),
          target(`sum(rate(pull_module_misses_total{${SEL}}[${RATE}]))`, 'misses'),
        ],
        unit: 'ops',
      },
      {
        title: 'Coalesced waiters',
        description: 'Callers that joined an upstream lookup or download already in flight instead of starting their own; peer waits: another process held the lease.',
        targets: [
          target(`sum(rate(pull_coalesced_waiters_total{${SEL}}[${RATE}]))`, 'providers'),
          target(`sum(rate(pull_module_coalesced_waiters_total{${SEL}}[${RATE}]))`, 'modules'),
          target(`sum(rate(pull_archive_peer_waits_total{${SEL}}[${RATE}]))`, 'peer waits'),
        ],
        unit: 'ops',
      },
      {
        title: 'Upstream archive downloads',
        description: 'Downloads running now, and bytes received from upstreams per second.',
        targets: [
          target(`sum(pull_archive_downloads_in_flight{${SEL}})`, 'in flight'),
          target(`sum(rate(pull_archive_downloads_total{${SEL}}[${RATE}]))`, 'started/s'),
          target(`sum(rate(pull_archive_integrity_failures_total{${SEL}}[${RATE}]))`, 'integrity failures/s'),
        ],
        unit: 'short',
      },
      {
        title: 'Upstream archive bytes fetched',
        description: 'Archive bytes received from upstream registries for pull-through.',
        targets: [target(`sum(rate(pull_archive_bytes_fetched_total{${SEL}}[${RATE}]))`, 'fetched')],
        unit: 'Bps',
      },
      {
        title: 'Upstream metadata fetches',
        description: 'Versions lists and releases asked of upstreams, by kind and result; stale: lists answered past metadata_ttl.',
        targets: [
          target(`sum by (kind, result) (rate(pull_upstream_metadata_fetches_total{${SEL}}[${RATE}]))`, '{{kind}} {{result}}'),
          target(`sum(rate(pull_stale_answers_total{${SEL}}[${RATE}]))`, 'stale answers'),
        ],
        unit: 'ops',
      },
    ],
  },
  {
    title: 'Upstreams',
    panels: [
      {
        title: 'Upstream state',
        description: 'Per configured upstream: up, or backing off after 429/503 Retry-After or repeated failures (misses answer 503 meanwhile).',
        targets: [target(`max by (hostname) (pull_upstream_state{${SEL}})`, '{{hostname}}')],
        unit: 'none',
        kind: 'state-timeline',
        mappings: [{ type: 'value', options: { '0': { text: 'up', color: 'green' }, '1': { text: 'backing off', color: 'red' } } }],
        thresholds: [
          { color: 'green', value: null },
          { color: 'red', value: 1 },
        ],
      },
      {
        title: 'Upstream requests by result',
        description: 'Requests to upstream registries, by hostname and result (ok, rate_limited, errors).',
        targets: [target(`sum by (hostname, result) (rate(upstream_requests_total{${SEL}}[${RATE}]))`, '{{hostname}} {{result}}')],
        unit: 'reqps',
      },
    ],
  },
  {
    title: 'Jobs',
    panels: [
      {
        title: 'Jobs by status',
        description: 'Load jobs in the queue database by status.',
        targets: [target(`sum by (status) (jobs{${SEL}, status=~"pending|running|failed"})`, '{{status}}')],
        unit: 'short',
        width: 8,
      },
      {
        title: 'Job items by status',
        description: 'Job items (one package each) pending, running and failed; pending that only grows while running stays 0 is a stuck queue.',
        targets: [target(`sum by (status) (job_items{${SEL}, status=~"pending|running|failed"})`, '{{status}}')],
        unit: 'short',
        width: 8,
      },
      {
        title: 'Oldest due pending item',
        description: 'How long the longest-waiting due item has waited for a worker; items waiting out a retry delay do not count.',
        targets: [target(`max(job_items_oldest_due_pending_age_seconds{${SEL}})`, 'waited')],
        unit: 's',
        width: 8,
      },
    ],
  },
  {
    title: 'Storage',
    panels: [
      {
        title: 'Archives held',
        description: 'Bytes of provider packages and module versions in the object store.',
        targets: [target(`sum by (kind) (mirror_storage_bytes{${SEL}})`, '{{kind}}')],
        unit: 'bytes',
        width: 8,
        stack: true,
      },
      {
        title: 'Archive count',
        description: 'Provider packages and module versions held.',
        targets: [target(`sum by (kind) (mirror_storage_objects{${SEL}})`, '{{kind}}')],
        unit: 'short',
        width: 8,
      },
      {
        title: 'Data volume free',
        description: 'Share of the filesystem holding the data directory (SQLite, and archives with the filesystem store) still available.',
        targets: [target(`min(mirror_data_volume_available_bytes{${SEL}} / mirror_data_volume_size_bytes{${SEL}})`, 'free')],
        unit: 'percentunit',
        kind: 'stat',
        width: 8,
        range: [0, 1],
        thresholds: [
          { color: 'red', value: null },
          { color: 'orange', value: 0.1 },
          { color: 'green', value: 0.2 },
        ],
      },
    ],
  },
  {
    title: 'Process',
    panels: [
      {
        title: 'Resident memory',
        description: 'Resident set size and V8 heap in use.',
        targets: [
          target(`process_resident_memory_bytes{${SEL}}`, 'rss {{instance}}'),
          target(`sum by (instance) (nodejs_heap_size_used_bytes{${SEL}})`, 'heap {{instance}}'),
        ],
        unit: 'bytes',
        width: 8,
      },
      {
        title: 'CPU',
        description: 'CPU seconds per second (1 = one core busy).',
        targets: [target(`rate(process_cpu_seconds_total{${SEL}}[${RATE}])`, '{{instance}}')],
        unit: 'short',
        width: 8,
      },
      {
        title: 'Event loop lag',
        description: 'Event loop delay p99 and mean; sustained lag delays every request.',
        targets: [
          target(`nodejs_eventloop_lag_p99_seconds{${SEL}}`, 'p99 {{instance}}'),
          target(`nodejs_eventloop_lag_mean_seconds{${SEL}}`, 'mean {{instance}}'),
        ],
        unit: 's',
        width: 8,
      },
    ],
  },
];

const variable = (name: string, label: string, query: string): Json => ({
  name,
  label,
  type: 'query',
  datasource: { type: 'prometheus', uid: '${datasource}' },
  definition: query,
  query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
  refresh: 2,
  includeAll: true,
  multi: true,
  allValue: '.+',
  current: { selected: true, text: ['All'], value: ['$__all'] },
  sort: 1,
});

export function dashboard(): Json {
  const panels: Json[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      const w = p.width ?? 12;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push(panel(p, id++, x, y));
      x += w;
    }
    y += 8;
  }
  return {
    uid: 'terraform-mirror',
    title: 'Terraform mirror',
    description: 'Requests, caches, pull-through, upstreams, job queue, storage and process of terraform-mirror servers',
    tags: ['terraform-mirror'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    time: { from: 'now-6h', to: 'now' },
    timezone: '',
    links: [],
    annotations: { list: [] },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '' },
        variable('job', 'Job', 'label_values(http_requests_total, job)'),
        variable('instance', 'Instance', 'label_values(http_requests_total{job=~"$job"}, instance)'),
      ],
    },
    panels,
  };
}

/** Every PromQL expression in the dashboard: panel targets and variable queries. */
export function dashboardExpressions(d: Json = dashboard()): string[] {
  const out: string[] = [];
  for (const p of d.panels as Json[]) for (const t of (p.targets as Json[] | undefined) ?? []) out.push(t.expr as string);
  for (const v of (d.templating as { list: Json[] }).list) {
    if (v.type !== 'query') continue;
    const m = /^label_values\((.*),\s*\w+\)$/.exec(v.definition as string);
    out.push(m ? m[1]! : (v.definition as string));
  }
  return out;
}
