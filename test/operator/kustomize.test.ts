import test from 'ava';
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { crdObject } from '../../operator/src/api/generate.js';
import { CRDS } from '../../operator/src/api/v1alpha1.js';
import { ROOT } from './helpers.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function kustomize(dir: string): Doc[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJSON() as Doc);
}

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const haveKubectl = kubectl.error === undefined && kubectl.status === 0;
if (!haveKubectl) console.log('skipping kustomize tests: kubectl is not installed');
const kTest = haveKubectl ? test : test.skip;

const rendered = haveKubectl ? kustomize('config/default') : [];
const byKind = (kind: string) => rendered.filter((d) => d.kind === kind);

kTest('config/default renders every CRD exactly as generated', (t) => {
  const crds = byKind('CustomResourceDefinition');
  t.deepEqual(crds.map((c) => c.metadata.name).sort(), ['modulesets.tfmirror.dev', 'providermirrors.tfmirror.dev', 'providersets.tfmirror.dev']);
  for (const source of CRDS) {
    const got = crds.find((c) => c.spec.names.kind === source.names.kind);
    t.deepEqual(got?.spec, (crdObject(source) as Doc).spec, source.names.kind);
  }
});

kTest('config/default puts every namespaced object in terraform-mirror', (t) => {
  t.deepEqual(byKind('Namespace').map((n) => n.metadata.name), ['terraform-mirror']);
  const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);
  for (const d of rendered.filter((d) => !clusterScoped.has(d.kind))) {
    t.is(d.metadata.namespace, 'terraform-mirror', `${d.kind}/${d.metadata.name}`);
    t.regex(d.metadata.name, /^terraform-mirror-/);
  }
  for (const binding of [...byKind('RoleBinding'), ...byKind('ClusterRoleBinding')]) {
    t.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: 'terraform-mirror-controller', namespace: 'terraform-mirror' },
    ]);
  }
});

kTest('RBAC grants no wildcards and only what the operator needs', (t) => {
  const roles = [...byKind('ClusterRole'), ...byKind('Role')];
  t.is(roles.length, 2);
  const grants = new Set<string>();
  for (const role of roles) {
    for (const rule of role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
      for (const list of [rule.apiGroups, rule.resources, rule.verbs]) t.false(list.includes('*'), role.metadata.name);
      for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) grants.add(`${g}/${r}:${v}`);
    }
  }
  const expected = [
    ...['providersets', 'providermirrors', 'modulesets'].flatMap((r) => [
      ...['get', 'list', 'watch'].map((v) => `tfmirror.dev/${r}:${v}`),
      ...['get', 'update', 'patch'].map((v) => `tfmirror.dev/${r}/status:${v}`),
      ...['update', 'patch'].map((v) => `tfmirror.dev/${r}/finalizers:${v}`),
    ]),
    ...['get', 'create', 'update'].map((v) => `coordination.k8s.io/leases:${v}`),
    ...['create', 'patch'].map((v) => `/events:${v}`),
  ];
  t.deepEqual([...grants].sort(), expected.sort());
  t.is(byKind('Role')[0]?.rules[0]?.resources[0], 'leases', 'leases are granted in the operator namespace only');
});

kTest('the Deployment runs the server and the operator side by side, hardened', (t) => {
  const [deployment, ...others] = byKind('Deployment');
  t.is(others.length, 0);
  const spec = deployment!.spec;
  t.is(spec.replicas, 1);
  t.is(spec.strategy.type, 'Recreate');
  const pod = spec.template.spec;
  t.false(pod.enableServiceLinks);
  t.true(pod.securityContext.runAsNonRoot);
  t.is(pod.serviceAccountName, 'terraform-mirror-controller');
  const containers: Record<string, Doc> = Object.fromEntries((pod.containers as Doc[]).map((c) => [c.name, c]));
  t.deepEqual(Object.keys(containers).sort(), ['operator', 'server']);
  t.deepEqual(containers.server!.args, ['serve']);
  t.deepEqual(containers.operator!.args, ['operator']);
  const env = (c: Doc) => Object.fromEntries((c.env as Doc[]).map((e) => [e.name, e.value ?? e.valueFrom]));
  t.like(env(containers.server!), { TFM_SERVER_TLS: 'false', TFM_SERVER_LISTEN: '0.0.0.0:8080', TFM_DATA_DIR: '/data' });
  t.is(env(containers.operator!).TFM_OPERATOR_SERVER_URL, 'http://127.0.0.1:9090', 'the operator uses the admin port');
  t.is(env(containers.operator!).TFM_OPERATOR_TOKEN.secretKeyRef.key, 'token');
  t.is(containers.server!.readinessProbe.httpGet.path, '/readyz');
  t.is(containers.server!.livenessProbe.httpGet.path, '/healthz');
  for (const c of Object.values(containers)) {
    t.true(c.securityContext.readOnlyRootFilesystem, c.name);
    t.false(c.securityContext.allowPrivilegeEscalation, c.name);
    t.truthy(c.resources.requests && c.resources.limits, c.name);
    t.true((c.volumeMounts as Doc[]).some((m) => m.mountPath === '/tmp'), c.name);
  }
  const volumes: Record<string, Doc> = Object.fromEntries((pod.volumes as Doc[]).map((v) => [v.name, v]));
  t.truthy(volumes.tmp?.emptyDir);
  t.is(volumes.data?.persistentVolumeClaim.claimName, 'terraform-mirror-data');
  t.deepEqual(byKind('PersistentVolumeClaim').map((p) => p.metadata.name), ['terraform-mirror-data']);
  const [service] = byKind('Service');
  t.is(service?.spec.ports[0].targetPort, 'http');
  t.like(service?.spec.selector, spec.selector.matchLabels);
});

kTest('the admin API listens on a port of its own, which the Service names and the operator uses', (t) => {
  const pod = byKind('Deployment')[0]!.spec.template.spec;
  const server = (pod.containers as Doc[]).find((c) => c.name === 'server')!;
  const env = Object.fromEntries((server.env as Doc[]).map((e) => [e.name, e.value]));
  t.is(env.TFM_SERVER_ADMIN_LISTEN, '0.0.0.0:9090');
  t.deepEqual((server.ports as Doc[]).map((p) => [p.name, p.containerPort]), [['http', 8080], ['admin', 9090]]);
  const [service] = byKind('Service');
  t.deepEqual((service!.spec.ports as Doc[]).map((p) => [p.name, p.targetPort]), [['http', 'http'], ['admin', 'admin']]);
});

kTest('only the operator container gets a service account token', (t) => {
  const pod = byKind('Deployment')[0]!.spec.template.spec;
  t.false(pod.automountServiceAccountToken, 'no token is mounted by default');
  const containers: Record<string, Doc> = Object.fromEntries((pod.containers as Doc[]).map((c) => [c.name, c]));
  const tokenMount = (c: Doc) => (c.volumeMounts as Doc[]).find((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount');
  t.is(tokenMount(containers.server!), undefined, 'the server has no token');
  const mount = tokenMount(containers.operator!);
  t.truthy(mount, 'the operator has one');
  t.true(mount!.readOnly);
  const volume = (pod.volumes as Doc[]).find((v) => v.name === mount!.name)!;
  const sources = volume.projected.sources as Doc[];
  t.truthy(sources.find((s) => s.serviceAccountToken)?.serviceAccountToken.expirationSeconds, 'a bound, expiring token');
  t.is(sources.find((s) => s.configMap)?.configMap.name, 'kube-root-ca.crt');
  t.is(sources.find((s) => s.downwardAPI)?.downwardAPI.items[0].fieldRef.fieldPath, 'metadata.namespace');
});

kTest('the NetworkPolicy admits the ingress controller to the mirror port and lets out only DNS, HTTPS and the API server', (t) => {
  const [policy, ...others] = byKind('NetworkPolicy');
  t.is(others.length, 0);
  const deployment = byKind('Deployment')[0]!;
  t.deepEqual(policy!.spec.podSelector.matchLabels, deployment.spec.selector.matchLabels, 'it selects the mirror pod');
  t.deepEqual(policy!.spec.policyTypes, ['Ingress', 'Egress']);
  const ports = (rule: Doc) => (rule.ports as Doc[]).map((p) => `${p.port}/${p.protocol}`);
  const [fromController, fromNamespace] = policy!.spec.ingress as Doc[];
  t.deepEqual(fromController!.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }]);
  t.deepEqual(ports(fromController!), ['http/TCP'], 'the ingress controller never reaches the admin port');
  t.deepEqual(fromNamespace!.from, [{ podSelector: {} }]);
  t.deepEqual(ports(fromNamespace!), ['http/TCP', 'admin/TCP']);
  t.deepEqual((policy!.spec.egress as Doc[]).map(ports), [['53/UDP', '53/TCP'], ['443/TCP'], ['6443/TCP']]);
  // Named ports must exist on the pod, or the rule matches nothing.
  const named = new Set((deployment.spec.template.spec.containers as Doc[]).flatMap((c) => (c.ports ?? []).map((p: Doc) => p.name)));
  for (const rule of policy!.spec.ingress as Doc[]) for (const p of rule.ports as Doc[]) t.true(named.has(p.port), p.port);
});

kTest('config/samples renders one ProviderSet, one ProviderMirror and one ModuleSet', (t) => {
  t.deepEqual(kustomize('config/samples').map((d) => d.kind).sort(), ['ModuleSet', 'ProviderMirror', 'ProviderSet']);
});
