/**
 * Static checks of the Helm chart (no helm binary here): values against the
 * schema, templates as YAML once the template actions are stripped, CRDs equal
 * to crds/, the same kinds, object names, containers and RBAC rules as the
 * kustomize tree in config/, TFM_* names the server knows, and the hack
 * scripts' syntax.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_FILE_ENV, KEY_BY_ENV } from '../../server/src/config/schema.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CHART = join(ROOT, 'charts/terraform-mirror');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const TEMPLATE_DIR = join(CHART, 'templates');
const templateFiles = readdirSync(TEMPLATE_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const templates = new Map(templateFiles.map((f) => [f, readFileSync(join(TEMPLATE_DIR, f), 'utf8')]));
const allTemplates = [...templates.values()].join('\n---\n');

// ---------------------------------------------------------------------------
// A validator for the draft-07 subset values.schema.json uses. Any other
// keyword is an error, so the schema cannot silently outgrow what is tested.

type Schema = {
  $schema?: string;
  title?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
};
const KEYWORDS = new Set([
  '$schema', 'title', 'description', 'type', 'properties', 'required', 'enum',
  'additionalProperties', 'items', 'minimum', 'maximum', 'minLength',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function validate(schema: Schema, value: unknown, path = '$'): string[] {
  const errors: string[] = [];
  for (const k of Object.keys(schema)) if (!KEYWORDS.has(k)) errors.push(`${path}: unsupported schema keyword ${k}`);
  if (schema.type !== undefined) {
    const allowed = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = typeOf(value);
    const ok = allowed.includes(actual) || (actual === 'integer' && allowed.includes('number'));
    if (!ok) return [...errors, `${path}: expected ${allowed.join('|')}, got ${actual}`];
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) errors.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: below minimum ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: above maximum ${schema.maximum}`);
  }
  if (typeof value === 'string' && schema.minLength !== undefined && value.length < schema.minLength) {
    errors.push(`${path}: shorter than ${schema.minLength}`);
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => errors.push(...validate(schema.items!, item, `${path}[${i}]`)));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) errors.push(`${path}: missing required ${r}`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      if (sub) errors.push(...validate(sub, v, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unknown property ${k}`);
      else if (typeof schema.additionalProperties === 'object') {
        errors.push(...validate(schema.additionalProperties, v, `${path}.${k}`));
      }
    }
  }
  // Walk nested schemas even where the value does not reach them, for the keyword check.
  if (path === '$') errors.push(...unsupportedKeywords(schema, '#'));
  return [...new Set(errors)];
}

function unsupportedKeywords(schema: Schema, path: string): string[] {
  const out = Object.keys(schema)
    .filter((k) => !KEYWORDS.has(k))
    .map((k) => `${path}: unsupported schema keyword ${k}`);
  for (const [k, sub] of Object.entries(schema.properties ?? {})) out.push(...unsupportedKeywords(sub, `${path}/${k}`));
  if (schema.items) out.push(...unsupportedKeywords(schema.items, `${path}/items`));
  if (typeof schema.additionalProperties === 'object') {
    out.push(...unsupportedKeywords(schema.additionalProperties, `${path}/additionalProperties`));
  }
  return out;
}

const schema = JSON.parse(read('charts/terraform-mirror/values.schema.json')) as Schema;
const values = parse(read('charts/terraform-mirror/values.yaml')) as Doc;
const withValues = (patch: (v: Doc) => void): Doc => {
  const copy = structuredClone(values);
  patch(copy);
  return copy;
};

// ---------------------------------------------------------------------------
// Templates as YAML: drop lines holding only template actions, replace inline
// actions by a placeholder word. Both branches of an if/else then appear, so
// duplicate keys are allowed.

const PLACEHOLDER = 'X';
function stripTemplate(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*(\{\{.*?\}\}\s*)+$/.test(line))
    .map((line) => line.replace(/\{\{.*?\}\}/g, PLACEHOLDER))
    .join('\n');
}
function templateDocs(file: string): Doc[] {
  const docs = parseAllDocuments(stripTemplate(templates.get(file)!), { uniqueKeys: false });
  for (const d of docs) if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJSON() as Doc).filter((d) => d !== null);
}

// ---------------------------------------------------------------------------
// config/ as rendered by kustomize, and config/rbac as plain files.

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const haveKubectl = kubectl.error === undefined && kubectl.status === 0;
if (!haveKubectl) console.log('skipping the kustomize comparisons: kubectl is not installed');
const kTest = haveKubectl ? test : test.skip;

function kustomize(dir: string): Doc[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJSON() as Doc);
}
const rendered = haveKubectl ? kustomize('config/default') : [];

// ---------------------------------------------------------------------------

test('Chart.yaml is apiVersion v2 with appVersion from package.json', (t) => {
  const chart = parse(read('charts/terraform-mirror/Chart.yaml')) as Doc;
  const pkg = JSON.parse(read('package.json')) as Doc;
  t.is(chart.apiVersion, 'v2');
  t.is(chart.name, 'terraform-mirror');
  t.is(chart.type, 'application');
  t.is(chart.appVersion, pkg.version);
  t.regex(chart.version, /^\d+\.\d+\.\d+/);
  const listed = (parse(chart.annotations['artifacthub.io/crds']) as Doc[]).map((c) => c.name as string).sort();
  t.deepEqual(listed, readdirSync(join(ROOT, 'crds')).map((f) => f.replace(/^tfmirror\.dev_(\w+)\.yaml$/, '$1.tfmirror.dev')).sort(), 'Artifact Hub lists every CRD');
});

test('values.yaml validates against values.schema.json (draft-07 subset)', (t) => {
  t.is(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  t.deepEqual(validate(schema, values), []);
});

test('the schema rejects bad values', (t) => {
  const bad: [string, (v: Doc) => void, RegExp][] = [
    ['unknown top-level key', (v) => (v.replicas = 2), /unknown property replicas/],
    ['storage type', (v) => (v.storage.type = 'gcs'), /storage\.type.*enum/],
    ['wrong type', (v) => (v.persistence.enabled = 'yes'), /persistence\.enabled: expected boolean/],
    ['typo in a block', (v) => (v.storage.forcePathstyle = true), /unknown property forcePathstyle/],
    ['range', (v) => (v.jobs.concurrency = 0), /below minimum/],
    ['serving processes', (v) => (v.server.workers = 0), /server\.workers.*below minimum/],
    ['log level', (v) => (v.server.logLevel = 'verbose'), /not in enum/],
    ['ingress host', (v) => (v.ingress.hosts = [{ paths: [] }]), /missing required host/],
    ['pull-through list', (v) => (v.pullThrough.include = 'registry.terraform.io/*/*'), /expected array/],
  ];
  for (const [name, patch, expected] of bad) {
    const errors = validate(schema, withValues(patch));
    t.true(errors.some((e) => expected.test(e)), `${name}: ${errors.join('; ')}`);
  }
  t.deepEqual(
    validate(schema, withValues((v) => Object.assign(v.storage, { type: 's3', bucket: 'b', existingSecret: 's' }))),
    [],
  );
});

test('every template parses as YAML once template actions are stripped', (t) => {
  t.true(templateFiles.length >= 8, templateFiles.join(', '));
  for (const file of templateFiles) {
    let docs: Doc[] = [];
    try {
      docs = templateDocs(file);
    } catch (error) {
      t.fail(String(error));
    }
    for (const d of docs) {
      t.truthy(d.apiVersion, `${file}: apiVersion`);
      t.truthy(d.kind, `${file}: kind`);
      t.truthy(d.metadata?.name, `${file}: metadata.name`);
    }
  }
  const helpers = readFileSync(join(TEMPLATE_DIR, '_helpers.tpl'), 'utf8');
  for (const name of ['name', 'fullname', 'labels', 'selectorLabels', 'serviceAccountName']) {
    t.true(helpers.includes(`define "terraform-mirror.${name}"`), name);
  }
  const notes = readFileSync(join(TEMPLATE_DIR, 'NOTES.txt'), 'utf8');
  t.regex(notes, /network_mirror\s*\{/);
});

test('template actions are balanced', (t) => {
  const all: [string, string][] = [...templates, ['_helpers.tpl', readFileSync(join(TEMPLATE_DIR, '_helpers.tpl'), 'utf8')]];
  for (const [file, text] of all) {
    t.is((text.match(/\{\{/g) ?? []).length, (text.match(/\}\}/g) ?? []).length, `${file}: {{ vs }}`);
    const opens = (text.match(/\{\{-?\s*(if|range|with|define)\b/g) ?? []).length;
    const ends = (text.match(/\{\{-?\s*end\s*-?\}\}/g) ?? []).length;
    t.is(opens, ends, `${file}: blocks vs end`);
  }
});

test("the chart's crds/ are byte-equal to crds/", (t) => {
  const source = readdirSync(join(ROOT, 'crds')).sort();
  t.deepEqual(readdirSync(join(CHART, 'crds')).sort(), source);
  t.is(source.length, 3);
  for (const f of source) t.true(readFileSync(join(CHART, 'crds', f)).equals(readFileSync(join(ROOT, 'crds', f))), f);
});

const chartKinds = () => {
  const kinds = new Set<string>();
  for (const text of [...templates.values(), ...readdirSync(join(CHART, 'crds')).map((f) => readFileSync(join(CHART, 'crds', f), 'utf8'))]) {
    for (const m of text.matchAll(/^kind:\s*(\w+)\s*$/gm)) kinds.add(m[1]!);
  }
  return kinds;
};

kTest('the chart has every kind config/default renders (the namespace is the release namespace)', (t) => {
  const kinds = chartKinds();
  const expected = new Set(rendered.map((d) => d.kind as string).filter((k) => k !== 'Namespace'));
  t.deepEqual([...expected].filter((k) => !kinds.has(k)), []);
  t.deepEqual(
    [...kinds].filter((k) => !expected.has(k)).sort(),
    ['ConfigMap', 'Ingress', 'PrometheusRule', 'Secret', 'ServiceMonitor'],
    'only the optional extras are added (the Grafana dashboard ConfigMap and the PrometheusRule are in config/monitoring)',
  );
});

kTest('a release named terraform-mirror names objects as config/default does', (t) => {
  const chartNames = new Set<string>();
  for (const m of allTemplates.matchAll(/^kind:\s*(\w+)\s*\n(?:(?!---).*\n)*?\s*name:\s*\{\{ include "terraform-mirror\.fullname" \. \}\}(-[\w-]+)\s*$/gm)) {
    chartNames.add(`${m[1]}/terraform-mirror${m[2]}`);
  }
  // The ServiceAccount's name comes from the serviceAccountName helper: <fullname>-controller.
  t.regex(readFileSync(join(TEMPLATE_DIR, '_helpers.tpl'), 'utf8'), /printf "%s-controller" \(include "terraform-mirror\.fullname" \.\)/);
  chartNames.add('ServiceAccount/terraform-mirror-controller');
  const expected = rendered
    .filter((d) => d.kind !== 'Namespace' && d.kind !== 'CustomResourceDefinition')
    .map((d) => `${d.kind}/${d.metadata.name}`);
  t.deepEqual(expected.filter((n) => !chartNames.has(n)), []);
  // and the references between them
  const deployment = rendered.find((d) => d.kind === 'Deployment')!;
  const claim = deployment.spec.template.spec.volumes.find((v: Doc) => v.name === 'data').persistentVolumeClaim.claimName;
  t.is(claim, 'terraform-mirror-data');
  t.regex(readFileSync(join(TEMPLATE_DIR, '_helpers.tpl'), 'utf8'), /printf "%s-data"/);
});

kTest('the Deployment has the same containers, ports, probes and hardening as config/manager', (t) => {
  const [chartDeployment] = templateDocs('deployment.yaml');
  const deployment = rendered.find((d) => d.kind === 'Deployment')!;
  const names = (d: Doc) => (d.spec.template.spec.containers as Doc[]).map((c) => c.name);
  t.deepEqual(names(chartDeployment!), names(deployment));
  t.deepEqual(names(deployment), ['server', 'operator']);
  const pod = chartDeployment!.spec.template.spec;
  const kpod = deployment.spec.template.spec;
  t.is(pod.enableServiceLinks, false);
  t.is(chartDeployment!.spec.replicas, 1);
  t.is(chartDeployment!.spec.strategy.type, 'Recreate');
  t.deepEqual(values.podSecurityContext, kpod.securityContext);
  for (const [i, c] of (pod.containers as Doc[]).entries()) {
    const k = kpod.containers[i] as Doc;
    t.deepEqual(c.args, k.args, c.name);
    t.deepEqual(values.containerSecurityContext, k.securityContext, c.name);
    t.deepEqual(values[c.name === 'server' ? 'server' : 'operator'].resources, k.resources, c.name);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) t.deepEqual(c[probe], k[probe], `${c.name} ${probe}`);
    t.deepEqual(c.ports, k.ports, c.name);
    t.deepEqual(c.volumeMounts, k.volumeMounts, c.name);
    // Every literal env entry of config/manager is in the chart (secret names differ by design).
    const chartEnv = new Map((c.env as Doc[]).map((e) => [e.name, e]));
    // Values the chart takes from values.yaml (rendered as X here) default to config/manager's.
    const fromValues: Record<string, unknown> = { NODE_OPTIONS: values.operator.nodeOptions, TFM_SERVER_WORKERS: String(values.server.workers) };
    for (const e of k.env as Doc[]) {
      t.true(chartEnv.has(e.name), `${c.name}: ${e.name}`);
      if (e.name in fromValues) t.is(fromValues[e.name], e.value, `${c.name}: ${e.name} defaults to config/manager's value`);
      else if ('value' in e || e.valueFrom?.fieldRef) t.deepEqual(chartEnv.get(e.name), e, `${c.name}: ${e.name}`);
    }
  }
  t.deepEqual(values.tmp.sizeLimit, kpod.volumes.find((v: Doc) => v.name === 'tmp').emptyDir.sizeLimit);
  t.is(values.persistence.size, rendered.find((d) => d.kind === 'PersistentVolumeClaim')!.spec.resources.requests.storage);
});

function rulesByKind(docs: Doc[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of docs) if (d.kind === 'ClusterRole' || d.kind === 'Role') out[d.kind] = d.rules;
  return out;
}

test('the RBAC rules equal those in config/rbac', (t) => {
  const rbacDir = join(ROOT, 'config/rbac');
  const config = readdirSync(rbacDir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => parseAllDocuments(readFileSync(join(rbacDir, f), 'utf8')).map((d) => d.toJSON() as Doc));
  const expected = rulesByKind(config);
  t.deepEqual(Object.keys(expected).sort(), ['ClusterRole', 'Role']);
  const chartDocs = templateDocs('rbac.yaml');
  t.deepEqual(rulesByKind(chartDocs), expected);
  t.deepEqual(chartDocs.map((d) => d.kind).sort(), [...config.map((d) => d.kind)].filter((k) => k !== 'ServiceAccount').sort());
  for (const binding of chartDocs.filter((d) => d.kind.endsWith('Binding'))) {
    t.is(binding.roleRef.kind, binding.kind.replace('Binding', ''));
    t.is(binding.subjects[0].kind, 'ServiceAccount');
  }
});

test('every TFM_* variable the chart sets is one the server knows', (t) => {
  const names = new Set([...allTemplates.matchAll(/name:\s*(TFM_[A-Z0-9_]+)/g)].map((m) => m[1]!));
  t.true(names.size >= 10, [...names].join(', '));
  const unknown = [...names].filter((n) => !KEY_BY_ENV.has(n) && n !== CONFIG_FILE_ENV);
  t.deepEqual(unknown, []);
  for (const required of [
    'TFM_STORAGE_TYPE', 'TFM_STORAGE_BUCKET', 'TFM_STORAGE_REGION', 'TFM_STORAGE_ENDPOINT', 'TFM_STORAGE_PREFIX',
    'TFM_STORAGE_FORCE_PATH_STYLE', 'TFM_STORAGE_PRESIGN_DOWNLOADS', 'TFM_STORAGE_ACCESS_KEY_ID',
    'TFM_STORAGE_SECRET_ACCESS_KEY', 'TFM_PULL_THROUGH_ENABLED', 'TFM_PULL_THROUGH_INCLUDE', 'TFM_PULL_THROUGH_EXCLUDE',
    'TFM_AUTH_OPERATOR_TOKEN', 'TFM_OPERATOR_TOKEN', 'TFM_OPERATOR_SERVER_URL', 'TFM_SERVER_TRUSTED_PROXIES',
  ]) {
    t.true(names.has(required), required);
  }
});

test('secrets, ingress and ServiceMonitor templates carry the expected shape', (t) => {
  const secret = templates.get('secret.yaml')!;
  // The server refuses bootstrap tokens under 32 random bytes: 48 alphanumerics carry 285 bits.
  t.regex(secret, /randAlphaNum 48/);
  t.regex(secret, /fail "operator\.token must carry 32 random bytes/);
  t.regex(secret, /lookup "v1" "Secret" \.Release\.Namespace/);
  t.regex(secret, /access_key_id:/);
  t.regex(secret, /secret_access_key:/);
  const [monitor] = templateDocs('servicemonitor.yaml');
  t.is(monitor!.apiVersion, 'monitoring.coreos.com/v1');
  t.is(monitor!.spec.endpoints[0].path, '/metrics');
  t.is(monitor!.spec.endpoints[0].port, 'admin', '/metrics is on the admin port (server.separateAdminPort)');
  const [ingress] = templateDocs('ingress.yaml');
  t.is(ingress!.apiVersion, 'networking.k8s.io/v1');
  t.is(ingress!.spec.rules[0].http.paths[0].backend.service.port.name, 'http');
  const [pvc] = templateDocs('pvc.yaml');
  t.truthy(pvc!.spec.resources.requests.storage);
  t.regex(templates.get('pvc.yaml')!, /existingClaim/);
  t.regex(templates.get('pvc.yaml')!, /storageClassName/);
});

const TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

kTest('only the operator container gets a service account token, projected as in config/manager', (t) => {
  const [chartDeployment] = templateDocs('deployment.yaml');
  const pod = chartDeployment!.spec.template.spec;
  t.false(pod.automountServiceAccountToken);
  const containers: Record<string, Doc> = Object.fromEntries((pod.containers as Doc[]).map((c) => [c.name, c]));
  const tokenMount = (c: Doc) => (c.volumeMounts as Doc[]).find((m) => m.mountPath === TOKEN_PATH);
  t.is(tokenMount(containers.server!), undefined, 'the server has no token');
  const mount = tokenMount(containers.operator!);
  t.true(mount?.readOnly, 'the operator has one, read-only');
  const kpod = rendered.find((d) => d.kind === 'Deployment')!.spec.template.spec;
  const volume = (v: Doc[]) => v.find((x) => x.name === mount!.name);
  t.deepEqual(volume(pod.volumes), volume(kpod.volumes));
  t.truthy(volume(pod.volumes)?.projected.sources.find((src: Doc) => src.serviceAccountToken));
  // The projected volume exists only with the operator that mounts it.
  t.regex(templates.get('deployment.yaml')!, /\{\{- if \.Values\.operator\.enabled \}\}\n\s*# What automounting[^\n]*\n\s*- name: kube-api-access/);
});

kTest('the NetworkPolicy matches config/network-policy: the ingress controller reaches http only, egress is DNS, registries, S3, API server', (t) => {
  const text = templates.get('networkpolicy.yaml')!;
  t.regex(text, /^\{\{- if \.Values\.networkPolicy\.enabled \}\}/);
  const [policy] = templateDocs('networkpolicy.yaml');
  const kpolicy = rendered.find((d) => d.kind === 'NetworkPolicy')!;
  t.is(policy!.apiVersion, kpolicy.apiVersion);
  t.deepEqual(policy!.spec.policyTypes, kpolicy.spec.policyTypes);
  const [controller, namespace] = policy!.spec.ingress as Doc[];
  const [kcontroller, knamespace] = kpolicy.spec.ingress as Doc[];
  t.deepEqual(controller!.ports, kcontroller!.ports, 'the ingress controller: the http port only');
  t.deepEqual(values.networkPolicy.ingressController.namespaceSelector, kcontroller!.from[0].namespaceSelector);
  t.deepEqual(namespace!.from, knamespace!.from);
  t.deepEqual(namespace!.ports, knamespace!.ports);
  const egress = policy!.spec.egress as Doc[];
  const kegress = kpolicy.spec.egress as Doc[];
  t.deepEqual(egress[0], kegress[0], 'DNS');
  t.deepEqual(values.networkPolicy.egress.registryPorts, [kegress[1]!.ports[0].port]);
  t.deepEqual(values.networkPolicy.egress.apiServerPorts.slice(-1), [kegress[2]!.ports[0].port]);
  // S3 ports only with s3 storage; the API server only with the operator.
  t.regex(text, /if eq \.Values\.storage\.type "s3" \}\}\n\s*\{\{- \$ports = concat \$ports \.Values\.networkPolicy\.egress\.s3Ports/);
  t.regex(text, /if and \.Values\.operator\.enabled \.Values\.networkPolicy\.egress\.apiServerPorts \}\}\n[^\n]*\n\s*- ports:\n\s*\{\{- range \.Values\.networkPolicy\.egress\.apiServerPorts/);
  // A rule with no ports allows every port: each port list is only rendered when not empty.
  t.regex(text, /\{\{- if \$ports \}\}\n\s*- ports:/);
});

kTest('the admin port is on the Service as in config/manager, and the Ingress routes to http only', (t) => {
  t.true(values.server.separateAdminPort);
  const [service] = templateDocs('service.yaml');
  const kservice = rendered.find((d) => d.kind === 'Service')!;
  const ports = (d: Doc) => (d.spec.ports as Doc[]).map((p) => [p.name, p.targetPort]);
  t.deepEqual(ports(service!), ports(kservice));
  t.deepEqual(ports(kservice), [['http', 'http'], ['admin', 'admin']]);
  const [ingress] = templateDocs('ingress.yaml');
  t.is(ingress!.spec.rules[0].http.paths[0].backend.service.port.name, 'http');
  t.notRegex(templates.get('ingress.yaml')!, /admin/);
});

test('hack/*.sh pass bash -n', (t) => {
  const scripts = readdirSync(join(ROOT, 'hack')).filter((f) => f.endsWith('.sh'));
  t.true(scripts.includes('kind-e2e.sh') && scripts.includes('dev-tls.sh'), scripts.join(', '));
  for (const s of scripts) {
    const r = spawnSync('bash', ['-n', join(ROOT, 'hack', s)], { encoding: 'utf8' });
    t.is(r.status, 0, `${s}: ${r.stderr}`);
    t.regex(readFileSync(join(ROOT, 'hack', s), 'utf8'), /^#!\/usr\/bin\/env bash\n[\s\S]*set -euo pipefail/, s);
  }
});
