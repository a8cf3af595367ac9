/**
 * Operator figures: time from ProviderSet create to Ready with the content
 * already held, for 1 and for 200 objects, and the operator's RSS with 1,000
 * objects in its informer cache. Fake kube-apiserver, real server and operator
 * processes, fake upstream; all on loopback.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { FakeKubeApiserver } from '../fixtures/fake-kube-apiserver.js';
import { loadSetup } from '../fixtures/load-setup.js';
import { cleanEnv, cliPath, runCli, startServe } from '../fixtures/tfmirror.js';

const TOKEN = 'bench-operator-token-Qz7xW2kP9mLr4Tb8Nc1Hv5Jd';

export async function benchOperator(): Promise<void> {
  const s = await loadSetup([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.1': ['linux_amd64'] } }]);
  const kube = await FakeKubeApiserver.start({ bookmarkIntervalMs: 0 });
  const defs = s.writeDefinitions('held.yaml', 'providers:\n  - source: hashicorp/null\n    versions: ["3.2.1"]\n    platforms: [linux_amd64]\n');
  await runCli(['load', defs], s.env);
  const server = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_OPERATOR_TOKEN: TOKEN, TFM_LOG_LEVEL: 'warn' });
  const kubeconfig = path.join(s.dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());
  const operator = spawn(process.execPath, [cliPath, 'operator'], {
    env: cleanEnv({
      ...s.env,
      KUBECONFIG: kubeconfig,
      POD_NAMESPACE: 'tfmirror',
      TFM_LOG_LEVEL: 'warn',
      TFM_OPERATOR_SERVER_URL: server.url.replace(/\/$/, ''),
      TFM_OPERATOR_TOKEN: TOKEN,
      NODE_EXTRA_CA_CERTS: path.join(s.dir, 'data', 'tls', 'ca.crt'),
    }),
    stdio: 'ignore',
  });
  const objects = kube.kubeConfig().makeApiClient(CustomObjectsApi);
  const create = (name: string) =>
    objects.createNamespacedCustomObject({
      group: 'tfmirror.dev',
      version: 'v1alpha1',
      namespace: 'bench',
      plural: 'providersets',
      body: {
        apiVersion: 'tfmirror.dev/v1alpha1',
        kind: 'ProviderSet',
        metadata: { name, namespace: 'bench' },
        spec: { providers: [{ source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64'] }] },
      },
    });
  const readyCount = () =>
    kube.objects('ProviderSet').filter((o) => ((o as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')).length;
  const waitReady = async (n: number) => {
    const deadline = Date.now() + 300_000;
    while (readyCount() < n) {
      if (Date.now() > deadline) throw new Error(`only ${readyCount()} of ${n} ready`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await new Promise((r) => setTimeout(r, 2000)); // leader election and informer sync
    let t0 = performance.now();
    await create('one');
    await waitReady(1);
    console.log(`operator: ProviderSet create → Ready (content held), 1 object: ${(performance.now() - t0).toFixed(0)} ms`);

    t0 = performance.now();
    await Promise.all(Array.from({ length: 200 }, (_, i) => create(`batch-${i}`)));
    await waitReady(201);
    console.log(`operator: 200 ProviderSets created at once → all Ready: ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    for (let i = 0; i < 799; i += 50) await Promise.all(Array.from({ length: Math.min(50, 799 - i) }, (_, j) => create(`more-${i + j}`)));
    await waitReady(1000);
    const status = fs.readFileSync(`/proc/${operator.pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    console.log(`operator: RSS with 1,000 ProviderSets in the informer cache: ${rss.toFixed(0)} MB (peak ${hwm.toFixed(0)} MB)\n`);
  } finally {
    operator.kill('SIGTERM');
    await server.stop();
    await kube.close();
    await s.close();
  }
}
