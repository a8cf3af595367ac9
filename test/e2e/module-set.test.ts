/**
 * A ModuleSet end to end: applied to the fake kube-apiserver, reconciled by
 * a real `tfmirror operator` through a real `tfmirror serve`, whose module
 * fetcher takes the archives the fake HTTPS registry points at from a static
 * HTTPS server. The resource becomes Ready, the module versions are held
 * (GET /admin/api/modules shows them), a blocked module is gone from the
 * registry route, and deleting a Delete-policy set removes its versions.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import test from 'ava';
import { FakeKubeApiserver } from '../fixtures/fake-kube-apiserver.js';
import { cleanEnv, cliPath, runCli, startServe } from '../fixtures/tfmirror.js';
import { OPERATOR, moduleRecords, startModulePeers, stored } from '../admin/jobs/module-peers.js';

const PASSWORD = 'module set end to end passphrase 7f3k';

interface Status {
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason: string; message: string }[];
  desired?: number;
  ready?: number;
  failed?: number;
}
type Obj = { metadata: { name: string; finalizers?: string[] }; status?: Status };

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

test('a ModuleSet applied to the cluster becomes Ready and its module versions are held by the mirror', async (t) => {
  const peers = await startModulePeers(['1.0.0', '1.1.0', '1.2.0']);
  t.teardown(() => peers.close());
  const created = await runCli(['create-admin', '--username', 'alice'], peers.env, { input: `${PASSWORD}\n` });
  t.is(created.code, 0, created.stderr);
  const server = await startServe({ ...peers.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_OPERATOR_TOKEN: OPERATOR });
  t.teardown(() => server.stop());
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;
  const agent = new https.Agent({ ca: fs.readFileSync(bundle) });
  t.teardown(() => agent.destroy());
  const call = (method: string, p: string, token?: string, body?: object) =>
    new Promise<{ status: number; json: any }>((resolve, reject) => {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      if (body) headers['content-type'] = 'application/json';
      const req = https.request(new URL(p.replace(/^\//, ''), server.url), { method, agent, headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
      });
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  const admin = (await call('POST', '/admin/api/auth/login', undefined, { username: 'alice', password: PASSWORD })).json.token as string;

  const kube = await FakeKubeApiserver.start({ bookmarkIntervalMs: 1000 });
  t.teardown(() => kube.close());
  const kubeconfig = path.join(peers.s.dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());
  const operator = spawn(process.execPath, [cliPath, 'operator'], {
    env: cleanEnv({
      ...peers.env,
      KUBECONFIG: kubeconfig,
      POD_NAMESPACE: 'tfmirror',
      TFM_OPERATOR_SERVER_URL: server.url.replace(/\/$/, ''),
      TFM_OPERATOR_TOKEN: OPERATOR,
      NODE_EXTRA_CA_CERTS: bundle,
    }),
  });
  let output = '';
  operator.stdout.on('data', (d: Buffer) => (output += d));
  operator.stderr.on('data', (d: Buffer) => (output += d));
  const exited = new Promise((resolve) => operator.on('exit', resolve));
  t.teardown(async () => {
    if (operator.exitCode === null) operator.kill('SIGTERM');
    await exited;
  });

  const { CustomObjectsApi } = await import('@kubernetes/client-node');
  const objects = kube.kubeConfig().makeApiClient(CustomObjectsApi);
  const group = { group: 'tfmirror.dev', version: 'v1alpha1', namespace: 'platform', plural: 'modulesets' };
  await objects.createNamespacedCustomObject({
    ...group,
    body: {
      apiVersion: 'tfmirror.dev/v1alpha1',
      kind: 'ModuleSet',
      metadata: { name: 'net', namespace: 'platform' },
      spec: { modules: [{ source: 'acme/net/aws', versions: ['~> 1.1'], latest: 2 }], deletionPolicy: 'Delete' },
    },
  });
  const set = () => kube.objects('ModuleSet').find((o) => (o as unknown as Obj).metadata.name === 'net') as unknown as Obj | undefined;
  const ready = () => set()?.status?.conditions?.find((c) => c.type === 'Ready');
  await until('Ready', () => ready()?.status === 'True').catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(set()?.status)}\n${output.slice(-3000)}`);
  });
  t.like(set()!.status, { observedGeneration: 1, desired: 2, ready: 2, failed: 0 });
  t.like(ready(), { reason: 'AllMirrored', message: 'all 2 module versions mirrored' });
  t.deepEqual(set()!.metadata.finalizers, ['tfmirror.dev/cleanup']);

  // Held by the mirror, by this set: the admin API shows the module and its versions.
  const list = await call('GET', '/admin/api/modules?query=acme/net', admin);
  t.is(list.status, 200);
  t.is(list.json.total, 1);
  t.like(list.json.items[0], { source: 'registry.terraform.io/acme/net/aws', status: 'active', versions: 2 });
  const detail = await call('GET', `/admin/api/modules/${list.json.items[0].id}`, admin);
  t.deepEqual(detail.json.versions.map((v: any) => [v.version, v.sourceKind, v.subdir, v.heldBy]), [
    ['1.2.0', 'archive', 'net', ['set:ModuleSet/platform/net']],
    ['1.1.0', 'archive', 'net', ['set:ModuleSet/platform/net']],
  ]);
  for (const v of detail.json.versions) t.regex(v.sha256, /^[0-9a-f]{64}$/);
  const storage = await call('GET', '/admin/api/stats/storage', admin);
  t.like(storage.json.modules, { modules: 1, versions: 2 });

  // The registry route serves it; blocked, it answers 404 for it.
  const versionsPath = '/hosts/registry.terraform.io/v1/modules/acme/net/aws/1.2.0/download';
  t.is((await call('GET', versionsPath)).status, 204);
  const blocked = await call('PATCH', `/admin/api/modules/${list.json.items[0].id}`, admin, { status: 'blocked' });
  t.is(blocked.status, 200);
  t.is((await call('GET', versionsPath)).status, 404);
  t.is((await call('GET', '/hosts/registry.terraform.io/v1/modules/acme/net/aws/versions')).status, 404);
  await call('PATCH', `/admin/api/modules/${list.json.items[0].id}`, admin, { status: 'active' });

  // serve wires its module fetcher into the drift check (503 without one); archive versions have no ref to move.
  const drift = await call('POST', `/admin/api/modules/${list.json.items[0].id}/drift`, admin);
  t.is(drift.status, 200, JSON.stringify(drift.json));
  t.like(drift.json, { checked: 0, drifted: [], problems: [] });

  // Deleting the Delete-policy set removes what only it held, then its finalizer.
  const keys = moduleRecords(peers.s).map((r) => r.archiveKey);
  t.is(keys.length, 2);
  await objects.deleteNamespacedCustomObject({ ...group, name: 'net' });
  await until('the ModuleSet gone', () => set() === undefined);
  t.deepEqual(moduleRecords(peers.s), []);
  for (const key of keys) t.false(stored(peers.s, key), key);
});
