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
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { parse, parseAllDocuments } from 'yaml';
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
  t.regex(byName.get('TerraformMirrorTargetDown')!.expr, /^up\{job="terraform-mirror-server"\} == 0$/);
});

test("the chart's PrometheusRule is the config/ one with thresholds from values.yaml and the release's job", (t) => {
  const values = parse(read('charts/terraform-mirror/values.yaml')) as Doc;
  t.deepEqual(values.monitoring.prometheusRule.thresholds, { ...DEFAULT_THRESHOLDS });
  t.false(values.monitoring.prometheusRule.enabled);
  t.false(values.monitoring.grafanaDashboard.enabled);
  t.deepEqual(values.monitoring.grafanaDashboard.labels, { grafana_dashboard: '1' });

  // Render the template the way Helm would for a release named terraform-mirror with the default values.
  const template = read(CHART_RULES_FILE);
  const refs = [...template.matchAll(/\.Values\.monitoring\.prometheusRule\.thresholds\.(\w+)/g)].map((m) => m[1]!);
  t.deepEqual([...new Set(refs)].sort(), Object.keys(DEFAULT_THRESHOLDS).sort());
  const rendered = template
    .replace(/\{\{`(.*?)`\}\}/g, '$1')
    .replace(/\{\{ \.Values\.monitoring\.prometheusRule\.thresholds\.(\w+) \}\}/g, (_m, n: keyof typeof DEFAULT_THRESHOLDS) => String(DEFAULT_THRESHOLDS[n]))
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
