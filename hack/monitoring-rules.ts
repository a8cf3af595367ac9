/**
 * The PrometheusRule alerts over the server's /metrics, as code: `npm run
 * gen:monitoring` renders them with the default thresholds for config/monitoring
 * and with Helm value references for the chart, so both carry the same rules.
 */

/** Thresholds and durations, named as under the chart's monitoring.prometheusRule.thresholds. */
export const DEFAULT_THRESHOLDS = {
  targetDownFor: '5m',
  upstreamBackingOffFor: '10m',
  errorRatio: 0.05,
  errorFor: '10m',
  pullFailureRatio: 0.1,
  pullFailureFor: '15m',
  jobQueueStuckSeconds: 1800,
  jobQueueStuckFor: '5m',
  volumeFreeRatio: 0.1,
  volumeFor: '15m',
  diskCacheFullRatio: 0.95,
  diskCacheFor: '30m',
} as const;

export type ThresholdName = keyof typeof DEFAULT_THRESHOLDS;

export interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string; description: string };
}

/**
 * `t` renders a threshold (a number or a Helm reference), `job` the scrape
 * job's selector value. Alert texts use Prometheus templates ($labels, $value);
 * the chart renderer escapes them from Helm.
 */
export function rules(t: (name: ThresholdName) => string, job: string): Rule[] {
  const sel = `job="${job}"`;
  const by = 'job, namespace';
  const ratio = (num: string, den: string) => `${num}\n  /\n${den}`;
  return [
    {
      alert: 'TerraformMirrorTargetDown',
      // absent(): no target at all (scaled to zero, or nothing scrapes the Service) is as blind as a failing one.
      expr: `up{${sel}} == 0 or absent(up{${sel}})`,
      for: t('targetDownFor'),
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Prometheus cannot scrape terraform-mirror {{ $labels.instance }}',
        description:
          'The scrape of {{ $labels.instance }} fails, or there is no target at all (no instance label): the pod is down, not ready, scaled to zero, ' +
          'or /metrics is unreachable. Check `kubectl get pods` and the pod events (OOMKilled, CrashLoopBackOff, a full volume at start), the server log, ' +
          'that a ServiceMonitor selects the Service (serviceMonitor.enabled) and that a NetworkPolicy lets Prometheus reach the admin port (networkPolicy.adminFrom).',
      },
    },
    {
      alert: 'TerraformMirrorUpstreamDown',
      expr: `max by (${by}, hostname) (pull_upstream_state{${sel}}) == 1`,
      for: t('upstreamBackingOffFor'),
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Upstream {{ $labels.hostname }} has been backing off',
        description:
          'Pull-through is backing off from {{ $labels.hostname }} (429/503 with Retry-After, or repeated failures): ' +
          'what is held is still served, but reads of anything not held answer 503. ' +
          'Check the upstream_requests_total results for the host, the server log for the upstream errors, egress (NetworkPolicy, proxy, DNS) ' +
          'and the registry status page; the state clears by itself once a request succeeds.',
      },
    },
    {
      alert: 'TerraformMirrorHighErrorRate',
      expr: ratio(
        `sum by (${by}) (rate(http_requests_total{${sel}, status=~"5.."}[5m]))`,
        `sum by (${by}) (rate(http_requests_total{${sel}}[5m])) > ${t('errorRatio')}`,
      ),
      for: t('errorFor'),
      labels: { severity: 'critical' },
      annotations: {
        summary: 'terraform-mirror answers {{ $value | humanizePercentage }} of requests with 5xx',
        description:
          'More than the threshold of requests fail on the server side. The route label of http_requests_total shows which path fails; ' +
          '503 on misses usually means an upstream is down (see TerraformMirrorUpstreamDown), 500 a server error with its request id in the log. ' +
          'Check the object store (S3 credentials, endpoint) and the data volume.',
      },
    },
    {
      alert: 'TerraformMirrorPullThroughFailures',
      expr: ratio(
        `sum by (${by}) (rate(pull_answers_total{${sel}, answer="failed"}[15m]))`,
        `sum by (${by}) (rate(pull_answers_total{${sel}}[15m])) > ${t('pullFailureRatio')}`,
      ),
      for: t('pullFailureFor'),
      labels: { severity: 'warning' },
      annotations: {
        summary: '{{ $value | humanizePercentage }} of provider pull-through answers fail',
        description:
          'Reads of providers not held fail (503 upstream unavailable, 502 bad upstream answer, integrity failures). ' +
          'Check pull_upstream_metadata_fetches_total and upstream_requests_total by result for the failing host, ' +
          'pull_archive_integrity_failures_total (an upstream serving bytes that do not match its SHA256SUMS), and the server log.',
      },
    },
    {
      alert: 'TerraformMirrorModulePullThroughFailures',
      expr: ratio(
        `sum by (${by}) (rate(pull_module_answers_total{${sel}, answer="failed"}[15m]))`,
        `sum by (${by}) (rate(pull_module_answers_total{${sel}}[15m])) > ${t('pullFailureRatio')}`,
      ),
      for: t('pullFailureFor'),
      labels: { severity: 'warning' },
      annotations: {
        summary: '{{ $value | humanizePercentage }} of module pull-through answers fail',
        description:
          'Reads of modules not held fail (the upstream registry, or the git or archive source the module points at, is unreachable or gone). ' +
          'The server log names the module and the source; check egress to git hosts and that the tag or archive still exists upstream.',
      },
    },
    {
      alert: 'TerraformMirrorJobQueueStuck',
      expr: `max by (${by}) (job_items_oldest_due_pending_age_seconds{${sel}}) > ${t('jobQueueStuckSeconds')}`,
      for: t('jobQueueStuckFor'),
      labels: { severity: 'warning' },
      annotations: {
        summary: 'A due job item has waited {{ $value | humanizeDuration }} for a worker',
        description:
          'Pending load items are due but no worker claims them: workers are busy with long downloads, stuck, or the pool is stopped. ' +
          'Compare job_items{status="running"} with the configured worker count, look at the running jobs in the admin UI (Jobs), ' +
          'and at the server log for worker errors; restarting the pod releases leases held by a dead worker.',
      },
    },
    {
      alert: 'TerraformMirrorVolumeNearlyFull',
      expr: `min by (${by}) (mirror_data_volume_available_bytes{${sel}} / mirror_data_volume_size_bytes{${sel}}) < ${t('volumeFreeRatio')}`,
      for: t('volumeFor'),
      labels: { severity: 'critical' },
      annotations: {
        summary: 'The data volume of terraform-mirror has {{ $value | humanizePercentage }} free',
        description:
          'The filesystem holding the data directory (SQLite, and the archives with the filesystem store) is nearly full; ' +
          'when it fills, writes and loads fail. Grow the PVC (persistence.size, with a StorageClass that allows expansion), ' +
          'or free space: delete unused providers or modules in the admin UI, or move archives to S3 (storage.type s3).',
      },
    },
    {
      alert: 'TerraformMirrorDiskCacheNearlyFull',
      expr:
        `max by (${by}) (archive_disk_cache_bytes{${sel}} / archive_disk_cache_max_bytes{${sel}}) > ${t('diskCacheFullRatio')}\n` +
        `and\nsum by (${by}) (rate(archive_disk_cache_bypassed_total{${sel}}[15m])) > 0`,
      for: t('diskCacheFor'),
      labels: { severity: 'warning' },
      annotations: {
        summary: 'The archive disk cache is full and reads bypass it',
        description:
          'The disk cache in front of object storage is at its size limit and archive reads stream from the store instead ' +
          '(archive_disk_cache_bypassed_total), so downloads go to S3 again. Raise cache.disk_max_size (and the volume under cache.disk_path), ' +
          'or accept it if the bypassed archives are larger than the cache; a high archive_disk_cache_evictions_total rate shows a working set larger than the cache.',
      },
    },
  ];
}

/** Every PromQL expression of the rules, rendered with the default thresholds. */
export function ruleExpressions(): string[] {
  return rules((n) => String(DEFAULT_THRESHOLDS[n]), 'terraform-mirror-server').map((r) => r.expr);
}
