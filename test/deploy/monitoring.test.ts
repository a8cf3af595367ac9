/**
 * The Grafana dashboard and the PrometheusRule alerts: generated files up to
 * date and the same in the chart and config/, every metric they name exported
 * by a real server, the rules well-formed (promtool is not available here, so
 * their structure is checked instead), and config/monitoring building with
 * kustomize against the names config/default gives the Service.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { CHART_RULES_FILE, CONFIG_RULES_FILE, DASHBOARD_FILES, generatedMonitoringFiles } from '../../hack/gen-monitoring.js';
import { dashboard, dashboardExpressions } from '../../hack/monitoring-dashboard.js';
import { DEFAULT_THRESHOLDS, ruleExpressions, type Rule } from '../../hack/monitoring-rules.js';
import { JobRepository } from '../../server/src/db/jobs.js';
import { startMirror } from '../fixtures/mirror-server.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Series Prometheus itself adds to every target; no server exports them. */
const PROMETHEUS_SERIES = new Set(['up']);

/** Grafana's interval variables are not PromQL: Grafana substitutes a duration before the query is sent. */
const asPromQL = (expr: string) => expr.replace(/\$__rate_interval|\$__interval/g, '5m');

/**
 * Parses with the Prometheus project's own PromQL grammar: the positions of
 * syntax errors, and the metric names of every vector selector.
 */
function promql(expr: string): { errors: number[]; names: string[] } {
  const text = asPromQL(expr);
  const errors: number[] = [];
  const names = new Set<string>();
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) names.add(text.slice(id.from, id.to));
      }
    },
  });
  return { errors, names: [...names] };
}

/** Sample names in an exposition text, and the families its # TYPE lines declare (histograms with their suffixes). */
function exported(text: string): { samples: Set<string>; families: Set<string> } {
  const samples = new Set<string>();
  const families = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      families.add(name!);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) families.add(name! + s);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    samples.add(/^[^{ ]+/.exec(line)![0]);
  }
  return { samples, families };
}

test('the PromQL parser finds selected metrics, not functions, labels or strings, and reports syntax errors', (t) => {
  const expr =
    'histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job=~"$job", route!="x_total"}[$__rate_interval]))) ' +
    '/ on (job) group_left sum without (instance) (label_replace(up{a="b"}, "class", "${1}xx", "status", "(.)..")) > bool 0.5 or vector(0) and renamed_metric_total offset 5m';
  t.deepEqual(promql(expr), { errors: [], names: ['http_request_duration_seconds_bucket', 'up', 'renamed_metric_total'] });
  t.true(promql('sum(rate(x_total[5m])').errors.length > 0);
  t.true(promql('rate(x_total{job="a"}[5m]) >').errors.length > 0);
});

test('every expression of the dashboard and the alerts is valid PromQL', (t) => {
  const exprs = [...dashboardExpressions(), ...ruleExpressions()];
  t.true(exprs.length > 50, `${exprs.length}`);
  for (const expr of exprs) t.deepEqual(promql(expr).errors, [], expr);
});

test('every metric the dashboard and the alerts name is in the scrape of a real server after some traffic', async (t) => {
  const m = await startMirror([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }]);
  t.teardown(() => m.close());
  const base = `${m.serving.url}registry.terraform.io/hashicorp/null/`;
  // Warm index.json (the second read comes from the document cache), a version document, a miss.
  for (const path of ['index.json', 'index.json', '3.2.0.json']) t.is((await fetch(base + path)).status, 200, path);
  t.is((await fetch(`${m.serving.url}registry.terraform.io/hashicorp/absent/index.json`)).status, 404);
  // A job whose item falls due in an hour: pending, never claimed, no traffic leaves the machine.
  const db = new Database(m.config.database.path);
  new JobRepository(db).createJob(
    { kind: 'load', requestedBy: 'cli', spec: {}, maxAttempts: 1, items: [{ source: 'registry.terraform.io/hashicorp/null', version: '3.2.1', platform: 'linux_amd64' }] },
    Date.now() + 3_600_000,
  );
  db.close();

  const res = await fetch(`${m.serving.url}metrics`);
  t.is(res.status, 200);
  const scrape = await res.text();
  const { samples, families } = exported(scrape);
  t.true(samples.has('http_request_duration_seconds_bucket'));
  t.regex(scrape, /^job_items\{status="pending"\} 1$/m);
  t.regex(scrape, /^mirror_storage_objects\{kind="provider_package"\} 1$/m);
  t.regex(scrape, /^mirror_cache_hits_total [1-9]/m);

  const referenced = new Map<string, string>();
  for (const expr of [...dashboardExpressions(), ...ruleExpressions()]) for (const name of promql(expr).names) referenced.set(name, expr);
  t.true(referenced.size >= 40, `${referenced.size} names`);
  const missing = [...referenced.keys()].filter((n) => !PROMETHEUS_SERIES.has(n) && !samples.has(n) && !families.has(n));
  t.deepEqual(missing, [], missing.map((n) => `${n} in ${referenced.get(n)}`).join('\n'));
  // Only series labelled by upstream requests (none left this machine) may be declared without samples yet.
  const declaredOnly = [...referenced.keys()].filter((n) => !PROMETHEUS_SERIES.has(n) && !samples.has(n)).sort();
  t.deepEqual(declaredOnly, ['pull_stale_answers_total', 'pull_upstream_metadata_fetches_total', 'upstream_requests_total']);
  t.regex(scrape, /^pull_upstream_state\{hostname="registry\.terraform\.io"\} 0$/m);
});

test('the dashboard and rules are what `npm run gen:monitoring` writes, and the chart and config/ carry the same dashboard', (t) => {
  for (const [file, text] of generatedMonitoringFiles()) t.is(read(file), text, `${file} is stale: run npm run gen:monitoring`);
  const [chart, config] = DASHBOARD_FILES.map(read);
  t.is(chart, config);
  t.regex(read('charts/terraform-mirror/templates/grafana-dashboard.yaml'), /\.Files\.Get "dashboards\/terraform-mirror\.json"/);
  t.regex(read('config/monitoring/kustomization.yaml'), /- dashboards\/terraform-mirror\.json/);
});

test('the dashboard has rows for each area, a datasource variable, units, and panels that do not overlap', (t) => {
  const d = dashboard();
  const panels = d.panels as Doc[];
  t.deepEqual(
    panels.filter((p) => p.type === 'row').map((p) => p.title),
    ['Requests', 'Caches', 'Pull-through', 'Upstreams', 'Jobs', 'Storage', 'Process'],
  );
  const vars = (d.templating as { list: Doc[] }).list;
  t.deepEqual(vars.find((v) => v.name === 'datasource'), { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '' });
  const ids = new Set<number>();
  const cells = new Set<string>();
  for (const p of panels) {
    t.false(ids.has(p.id), `duplicate id ${p.id}`);
    ids.add(p.id);
    const { x, y, w, h } = p.gridPos;
    t.true(x + w <= 24, p.title);
    for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
      t.false(cells.has(`${i},${j}`), `${p.title} overlaps at ${i},${j}`);
      cells.add(`${i},${j}`);
    }
    if (p.type === 'row') continue;
    t.is(p.datasource.uid, '${datasource}', p.title);
    t.truthy(p.fieldConfig.defaults.unit, p.title);
    t.true(p.targets.length > 0, p.title);
    for (const target of p.targets) t.regex(target.expr, /job=~"\$job", instance=~"\$instance"/, `${p.title}: ${target.expr}`);
  }
  const titles = panels.map((p) => p.title as string);
  for (const needed of ['Latency p99 by route', 'Responses by status class', 'Document cache hit ratio', 'Coalesced waiters', 'Upstream state', 'Oldest due pending item', 'Data volume free', 'Event loop lag']) {
    t.true(titles.includes(needed), needed);
  }
});

const DURATION = /^[1-9][0-9]*[smhd]$/;
const ALERTS = [
  'TerraformMirrorTargetDown',
  'TerraformMirrorUpstreamDown',
  'TerraformMirrorHighErrorRate',
  'TerraformMirrorPullThroughFailures',
  'TerraformMirrorModulePullThroughFailures',
  'TerraformMirrorJobQueueStuck',
  'TerraformMirrorVolumeNearlyFull',
  'TerraformMirrorDiskCacheNearlyFull',
];

function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const c of expr.replace(/"(?:[^"\\]|\\.)*"/g, '')) {
    if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

test('config/monitoring/prometheusrule.yaml is a well-formed PrometheusRule with for: durations and runbook descriptions', (t) => {
  const doc = parse(read(CONFIG_RULES_FILE)) as Doc;
  t.is(doc.apiVersion, 'monitoring.coreos.com/v1');
  t.is(doc.kind, 'PrometheusRule');
  t.is(doc.spec.groups.length, 1);
  const rules = doc.spec.groups[0].rules as Rule[];
  t.deepEqual(rules.map((r) => r.alert), ALERTS);
  for (const r of rules) {
    t.deepEqual(Object.keys(r).sort(), ['alert', 'annotations', 'expr', 'for', 'labels'], r.alert);
    t.regex(r.for, DURATION, r.alert);
    t.true(['warning', 'critical'].includes(r.labels.severity), r.alert);
    t.true(balanced(r.expr), `${r.alert}: ${r.expr}`);
    t.regex(r.expr, /job="terraform-mirror-server"/, r.alert);
    t.true(r.annotations.summary.length > 10 && r.annotations.description.length > 80, r.alert);
    t.regex(r.annotations.description, /\b(check|grow|raise|compare)\b/i, `${r.alert}: the description says what to do`);
  }
  const byName = new Map(rules.map((r) => [r.alert, r]));
  t.is(byName.get('TerraformMirrorUpstreamDown')!.for, '10m');
  t.regex(byName.get('TerraformMirrorJobQueueStuck')!.expr, /job_items_oldest_due_pending_age_seconds\{[^}]*\}\) > 1800$/);
  t.regex(byName.get('TerraformMirrorTargetDown')!.expr, /^up\{job="terraform-mirror-server"\} == 0 or absent\(up\{job="terraform-mirror-server"\}\)$/);
});

test("the chart's PrometheusRule is the config/ one with thresholds from values.yaml and the release's job", (t) => {
  const values = parse(read('charts/terraform-mirror/values.yaml')) as Doc;
  t.deepEqual(values.monitoring.prometheusRule.thresholds, { ...DEFAULT_THRESHOLDS });
  t.false(values.monitoring.prometheusRule.enabled);
  t.is(values.monitoring.prometheusRule.job, '');
  t.false(values.monitoring.grafanaDashboard.enabled);
  t.deepEqual(values.monitoring.grafanaDashboard.labels, { grafana_dashboard: '1' });

  // Render the template the way Helm would for a release named terraform-mirror with the default values.
  const template = read(CHART_RULES_FILE);
  t.regex(template, /\.Values\.monitoring\.prometheusRule\.job \| default \(printf "%s-server" \(include "terraform-mirror\.fullname" \.\)\)/);
  const refs = [...template.matchAll(/\.Values\.monitoring\.prometheusRule\.thresholds\.(\w+)/g)].map((m) => m[1]!);
  t.deepEqual([...new Set(refs)].sort(), Object.keys(DEFAULT_THRESHOLDS).sort());
  const rendered = template
    .replace(/\{\{`(.*?)`\}\}/g, '$1')
    .replace(/\{\{ \.Values\.monitoring\.prometheusRule\.thresholds\.(\w+) \}\}/g, (_m, n: keyof typeof DEFAULT_THRESHOLDS) => String(DEFAULT_THRESHOLDS[n]))
    .replace(/\{\{ include "terraform-mirror\.ruleJob" \. \}\}/g, 'terraform-mirror-server')
    .replace(/\{\{ include "terraform-mirror\.fullname" \. \}\}/g, 'terraform-mirror')
    .replace(/\{\{ \.Release\.Namespace \}\}/g, 'ns')
    .split('\n')
    .filter((l) => !/^\s*\{\{-.*\}\}\s*$/.test(l))
    .join('\n');
  t.notRegex(rendered.replace(/\{\{ \$(labels|value)[^}]*\}\}/g, ''), /\{\{/);
  const chartDoc = parse(rendered) as Doc;
  const configDoc = parse(read(CONFIG_RULES_FILE)) as Doc;
  t.is(chartDoc.metadata.name, 'terraform-mirror-rules');
  t.deepEqual(chartDoc.spec, configDoc.spec);
});

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const kTest = kubectl.error === undefined && kubectl.status === 0 ? test : test.skip;
const kustomize = (dir: string): Doc[] => {
  const r = spawnSync('kubectl', ['kustomize', dir], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJSON() as Doc);
};

kTest('config/monitoring builds: the dashboard ConfigMap for the Grafana sidecar, the rules, and a ServiceMonitor whose job the rules select', (t) => {
  const docs = kustomize('config/monitoring');
  t.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.namespace}/${d.metadata.name}`).sort(), [
    'ConfigMap/terraform-mirror/terraform-mirror-dashboard',
    'PrometheusRule/terraform-mirror/terraform-mirror-rules',
    'ServiceMonitor/terraform-mirror/terraform-mirror-server',
  ]);
  const cm = docs.find((d) => d.kind === 'ConfigMap')!;
  t.is(cm.metadata.labels.grafana_dashboard, '1');
  t.is(cm.data['terraform-mirror.json'], read(DASHBOARD_FILES[1]!));

  // The ServiceMonitor selects the Service config/default creates, on its admin port, and
  // Prometheus names the job after that Service: the name every rule selects.
  const service = kustomize('config/default').find((d) => d.kind === 'Service')!;
  const monitor = docs.find((d) => d.kind === 'ServiceMonitor')!;
  for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) t.is(service.metadata.labels[k], v, k);
  t.true((service.spec.ports as Doc[]).some((p) => p.name === monitor.spec.endpoints[0].port));
  t.is(service.metadata.name, 'terraform-mirror-server');
  t.is(service.metadata.namespace, monitor.metadata.namespace);
});

// ---------------------------------------------------------------------------
// The alerts evaluated by Prometheus's own rule engine (promtool test rules) over
// synthetic series: each fires after its for: duration, not before, with the
// labels and rendered texts an operator receives.

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const pTest = promtool.error === undefined && promtool.status === 0 ? test : test.skip;
if (promtool.status !== 0) console.log('skipping the rule evaluation: promtool is not installed (the rule structure is still checked)');

const JOB = { job: 'terraform-mirror-server', namespace: 'tm' };
const series = (name: string, labels: Record<string, string>, values: string) => ({
  series: `${name}{${Object.entries({ ...JOB, instance: 'a', ...labels })
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`,
  values,
});

interface AlertCase {
  alert: string;
  input: Array<{ series: string; values: string }>;
  quietAt: string;
  firingAt: string;
  labels: Record<string, string>;
  /** What $value renders as in the texts. */
  value?: string;
}

const CASES: AlertCase[] = [
  { alert: 'TerraformMirrorTargetDown', input: [series('up', {}, '0x20')], quietAt: '3m', firingAt: '7m', labels: { ...JOB, instance: 'a' } },
  // No target at all: only the job the selector names is known.
  { alert: 'TerraformMirrorTargetDown', input: [series('up', { job: 'another-job' }, '1x20')], quietAt: '3m', firingAt: '7m', labels: { job: JOB.job } },
  {
    alert: 'TerraformMirrorUpstreamDown',
    input: [series('pull_upstream_state', { hostname: 'registry.terraform.io' }, '1x20'), series('pull_upstream_state', { hostname: 'registry.opentofu.org' }, '0x20')],
    quietAt: '9m',
    firingAt: '12m',
    labels: { ...JOB, hostname: 'registry.terraform.io' },
  },
  {
    alert: 'TerraformMirrorHighErrorRate',
    input: [series('http_requests_total', { route: '/x', status: '500' }, '0+30x30'), series('http_requests_total', { route: '/x', status: '200' }, '0+30x30')],
    quietAt: '8m',
    firingAt: '20m',
    labels: JOB,
    value: '50%',
  },
  {
    alert: 'TerraformMirrorPullThroughFailures',
    input: [series('pull_answers_total', { answer: 'failed' }, '0+6x40'), series('pull_answers_total', { answer: 'pulled' }, '0+18x40')],
    quietAt: '12m',
    firingAt: '30m',
    labels: JOB,
    value: '25%',
  },
  {
    alert: 'TerraformMirrorModulePullThroughFailures',
    input: [series('pull_module_answers_total', { answer: 'failed' }, '0+6x40'), series('pull_module_answers_total', { answer: 'hit' }, '0+18x40')],
    quietAt: '12m',
    firingAt: '30m',
    labels: JOB,
    value: '25%',
  },
  {
    // Waiting one more minute every minute: over 1800 s from minute 31, firing 5 minutes later.
    alert: 'TerraformMirrorJobQueueStuck',
    input: [series('job_items_oldest_due_pending_age_seconds', {}, '0+60x60')],
    quietAt: '34m',
    firingAt: '40m',
    labels: JOB,
    value: '40m 0s',
  },
  {
    alert: 'TerraformMirrorVolumeNearlyFull',
    input: [series('mirror_data_volume_available_bytes', {}, '5x30'), series('mirror_data_volume_size_bytes', {}, '100x30')],
    quietAt: '10m',
    firingAt: '20m',
    labels: JOB,
    value: '5%',
  },
  {
    // Full and bypassed in tm; full but nothing bypassed in the other namespace (an LRU cache at its limit is normal).
    alert: 'TerraformMirrorDiskCacheNearlyFull',
    input: [
      series('archive_disk_cache_bytes', {}, '99x60'),
      series('archive_disk_cache_max_bytes', {}, '100x60'),
      series('archive_disk_cache_bypassed_total', {}, '0+1x60'),
      series('archive_disk_cache_bytes', { namespace: 'other' }, '100x60'),
      series('archive_disk_cache_max_bytes', { namespace: 'other' }, '100x60'),
      series('archive_disk_cache_bypassed_total', { namespace: 'other' }, '7x60'),
    ],
    quietAt: '20m',
    firingAt: '50m',
    labels: JOB,
  },
];

/** An annotation as Prometheus renders it for these labels and value. */
const render = (text: string, labels: Record<string, string>, value = '') =>
  text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, k: string) => labels[k] ?? '').replace(/\{\{ \$value \| humanize\w+ \}\}/g, value);

pTest('promtool: the rules load, and each alert fires after its for: duration with its labels and rendered texts, not before', (t) => {
  const rules = parse(read(CONFIG_RULES_FILE)) as Doc;
  const byName = new Map((rules.spec.groups[0].rules as Rule[]).map((r) => [r.alert, r]));
  t.deepEqual([...new Set(CASES.map((c) => c.alert))].sort(), [...ALERTS].sort(), 'every alert has a case');
  const dir = mkdtempSync(join(tmpdir(), 'tfm-promtool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'rules.yaml'), stringify(rules.spec));
  const check = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yaml')], { encoding: 'utf8', timeout: 30_000 });
  t.is(check.status, 0, check.stdout + check.stderr);
  t.regex(check.stdout, new RegExp(`SUCCESS: ${ALERTS.length} rules found`));

  const tests = CASES.map((c) => {
    const rule = byName.get(c.alert)!;
    const labels = { ...c.labels, severity: rule.labels.severity };
    return {
      interval: '1m',
      input_series: c.input,
      alert_rule_test: [
        { eval_time: c.quietAt, alertname: c.alert, exp_alerts: [] },
        {
          eval_time: c.firingAt,
          alertname: c.alert,
          exp_alerts: [
            {
              exp_labels: labels,
              exp_annotations: { summary: render(rule.annotations.summary, labels, c.value), description: render(rule.annotations.description, labels, c.value) },
            },
          ],
        },
      ],
    };
  });
  writeFileSync(join(dir, 'tests.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
  const run = spawnSync('promtool', ['test', 'rules', join(dir, 'tests.yaml')], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  t.is(run.status, 0, run.stdout + run.stderr);
  t.regex(run.stdout, /SUCCESS/);
});
