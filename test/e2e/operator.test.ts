import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { FakeKubeApiserver } from '../fixtures/fake-kube-apiserver.js';
import { loadSetup } from '../fixtures/load-setup.js';
import { findTerraform, lockHashes, terraform, terraformWorkspace } from '../fixtures/terraform.js';
import { cleanEnv, cliPath, startServe } from '../fixtures/tfmirror.js';

const tf = findTerraform();
if (!tf) console.log('# skipping end-to-end tests with terraform: the terraform CLI is not on PATH');
const e2e = tf ? test : test.skip;

const OPERATOR_TOKEN = 'operator-sidecar-token-for-e2e-0123456789abcdef0123456789';

interface Condition {
  type: string;
  status: string;
  reason: string;
}

type Obj = { metadata: { name: string; generation?: number; finalizers?: string[]; deletionTimestamp?: string }; status?: Status };
interface Status {
  observedGeneration?: number;
  conditions?: (Condition & { message?: string })[];
  ready?: number;
  desired?: number;
  failed?: number;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const condition = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

function startOperator(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [cliPath, 'operator'], { env });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, exited, output: () => output };
}

e2e('a ProviderSet applied to the cluster becomes Ready and terraform installs from the mirror', async (t) => {
  const s = await loadSetup([
    { namespace: 'hashicorp', type: 'null', versions: { '3.1.0': ['linux_amd64'], '3.2.0': ['linux_amd64'], '3.2.1': ['linux_amd64'] } },
    { namespace: 'acme', type: 'tampered', versions: { '1.0.0': ['linux_amd64'] } },
    { namespace: 'acme', type: 'temporary', versions: { '1.0.0': ['linux_amd64'] } },
  ]);
  s.registry.fault({ fault: { kind: 'badSignature' }, path: /tampered/ });
  t.teardown(() => s.close());
  const kube = await FakeKubeApiserver.start({ bookmarkIntervalMs: 1000 });
  t.teardown(() => kube.close());
  const server = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_OPERATOR_TOKEN: OPERATOR_TOKEN });
  t.teardown(() => server.stop());
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;

  // The operator runs out of cluster: a kubeconfig for the fake apiserver, the server's URL and token.
  const kubeconfig = path.join(s.dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());
  const operatorEnv = cleanEnv({
    ...s.env,
    KUBECONFIG: kubeconfig,
    POD_NAMESPACE: 'tfmirror',
    TFM_OPERATOR_SERVER_URL: server.url.replace(/\/$/, ''),
    TFM_OPERATOR_TOKEN: OPERATOR_TOKEN,
    NODE_EXTRA_CA_CERTS: path.join(s.dir, 'data', 'tls', 'ca.crt'),
  });
  const first = startOperator(operatorEnv);
  t.teardown(() => void (first.child.exitCode === null && first.child.kill('SIGKILL')));
  const operator = first.child;
  const operatorExited = first.exited;
  const operatorOutput = () => first.output();

  const api = kube.kubeConfig();
  const { CustomObjectsApi } = await import('@kubernetes/client-node');
  const objects = api.makeApiClient(CustomObjectsApi);
  await objects.createNamespacedCustomObject({
    group: 'tfmirror.dev',
    version: 'v1alpha1',
    namespace: 'platform',
    plural: 'providersets',
    body: {
      apiVersion: 'tfmirror.dev/v1alpha1',
      kind: 'ProviderSet',
      metadata: { name: 'core', namespace: 'platform' },
      spec: { providers: [{ source: 'hashicorp/null', versions: ['~> 3.2'], latest: 1, platforms: ['linux_amd64'] }] },
    },
  });

  let status: { observedGeneration?: number; conditions?: Condition[]; ready?: number; desired?: number } = {};
  const ready = () => status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  for (let i = 0; i < 150 && !ready(); i++) {
    await new Promise((r) => setTimeout(r, 200));
    status = (kube.objects('ProviderSet')[0] as { status?: typeof status } | undefined)?.status ?? {};
  }
  t.true(ready(), `status ${JSON.stringify(status)}\n${operatorOutput().slice(-3000)}`);
  t.is(status.observedGeneration, 1);
  t.is(status.desired, 1);
  t.is(status.ready, 1);

  const ws = terraformWorkspace(s.dir, server.url, `terraform {\n  required_providers {\n    null = { source = "hashicorp/null", version = "~> 3.2" }\n  }\n}\n`);
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
  t.is(init.code, 0, init.output);
  const lock = lockHashes(ws.cwd, 'registry.terraform.io/hashicorp/null')!;
  t.is(lock.version, '3.2.1');
  t.true(lock.hashes.includes(s.registry.release('hashicorp', 'null', '3.2.1').packages.get('linux_amd64')!.h1!));

  const group = { group: 'tfmirror.dev', version: 'v1alpha1', plural: 'providersets' };
  const set = (name: string) => kube.objects('ProviderSet').find((o) => (o as unknown as Obj).metadata.name === name) as unknown as Obj | undefined;
  const create = (name: string, spec: Record<string, unknown>) =>
    objects.createNamespacedCustomObject({ ...group, namespace: 'platform', body: { apiVersion: 'tfmirror.dev/v1alpha1', kind: 'ProviderSet', metadata: { name, namespace: 'platform' }, spec } });
  const held = () => s.packages().map((p) => p.filename);

  // Editing the spec moves generation and observedGeneration, and the new versions arrive.
  const { PatchStrategy, setHeaderOptions } = await import('@kubernetes/client-node');
  await objects.patchNamespacedCustomObject(
    { ...group, namespace: 'platform', name: 'core', body: { spec: { providers: [{ source: 'hashicorp/null', versions: ['3.1.0', '~> 3.2'], platforms: ['linux_amd64'] }] } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await until('generation 2 to be observed and ready', () => set('core')?.status?.observedGeneration === 2 && condition(set('core'), 'Ready')?.status === 'True');
  t.is(set('core')!.metadata.generation, 2);
  t.true(held().includes('terraform-provider-null_3.1.0_linux_amd64.zip'), held().join(', '));

  // A package whose signature does not verify: Degraded, with the reason in the message.
  await create('tampered', { providers: [{ source: 'acme/tampered', versions: ['1.0.0'], platforms: ['linux_amd64'] }] });
  const degraded = await until('Degraded', () => (condition(set('tampered'), 'Degraded')?.status === 'True' ? condition(set('tampered'), 'Degraded') : undefined));
  t.regex(`${degraded.message} ${JSON.stringify(set('tampered')!.status)}`, /signature/);
  t.is(condition(set('tampered'), 'Ready')?.status, 'False');

  // deletionPolicy Delete: a finalizer while it lives; on delete the content goes, then the finalizer.
  await create('temporary', { providers: [{ source: 'acme/temporary', versions: ['1.0.0'], platforms: ['linux_amd64'] }], deletionPolicy: 'Delete' });
  await until('temporary ready', () => condition(set('temporary'), 'Ready')?.status === 'True');
  t.deepEqual(set('temporary')!.metadata.finalizers, ['tfmirror.dev/cleanup']);
  t.true(held().includes('terraform-provider-temporary_1.0.0_linux_amd64.zip'));
  await objects.deleteNamespacedCustomObject({ ...group, namespace: 'platform', name: 'temporary' });
  await until('temporary gone', () => set('temporary') === undefined);
  t.false(held().includes('terraform-provider-temporary_1.0.0_linux_amd64.zip'), 'its content was removed');
  t.true(held().includes('terraform-provider-null_3.2.1_linux_amd64.zip'), 'other sets keep theirs');

  // The watch connection is cut: the operator notices new objects again.
  kube.destroyWatches();
  await create('after-cut', { providers: [{ source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64'] }] });
  await until('after-cut ready', () => condition(set('after-cut'), 'Ready')?.status === 'True', 60_000);

  // Two operators: one leads; when it stops, the other takes over.
  const holder = () => (kube.objects('Lease', 'tfmirror')[0] as { spec?: { holderIdentity?: string } } | undefined)?.spec?.holderIdentity;
  const second = startOperator(operatorEnv);
  t.teardown(() => void (second.child.exitCode === null && second.child.kill('SIGKILL')));
  await new Promise((r) => setTimeout(r, 3000));
  const leader = holder();
  t.truthy(leader);
  t.regex(leader!, new RegExp(`_${operator.pid}$`), 'the first operator still leads');
  operator.kill('SIGTERM');
  t.is(await operatorExited, 0, operatorOutput().slice(-2000));
  await until('the second operator to lead', () => holder()?.endsWith(`_${second.child.pid}`), 30_000).catch((err: Error) => {
    throw new Error(`${err.message}; holder ${holder()}\n${second.output().slice(-3000)}`);
  });
  await create('after-failover', { providers: [{ source: 'hashicorp/null', versions: ['3.2.0'], platforms: ['linux_amd64'] }] });
  await until('after-failover ready', () => condition(set('after-failover'), 'Ready')?.status === 'True', 30_000);

  // A Retain set deleted while no operator runs: the next one drops its server record (not its content) at start.
  const records = () => {
    const db = new Database(path.join(s.dir, 'data', 'tfmirror.db'), { readonly: true });
    try {
      return db.prepare<[], { key: string }>(`SELECT namespace || '/' || name AS key FROM provider_sets`).all().map((r) => r.key);
    } finally {
      db.close();
    }
  };
  t.true(records().includes('platform/after-failover'));
  second.child.kill('SIGTERM');
  t.is(await second.exited, 0);
  kube.deleteObject('ProviderSet', 'platform', 'after-failover');
  const third = startOperator(operatorEnv);
  t.teardown(() => void (third.child.exitCode === null && third.child.kill('SIGKILL')));
  await until('the orphaned record dropped', () => !records().includes('platform/after-failover'), 30_000);
  t.true(records().includes('platform/core'), 'sets whose objects exist stay');
  t.true(held().includes('terraform-provider-null_3.2.0_linux_amd64.zip'), 'Retain: the content stays');
  third.child.kill('SIGTERM');
  t.is(await third.exited, 0, third.output().slice(-2000));
});
