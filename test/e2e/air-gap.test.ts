import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { FakeKubeApiserver } from '../fixtures/fake-kube-apiserver.js';
import { writeMirrorDirectory } from '../fixtures/mirror-directory.js';
import { cleanEnv, cliPath, runCli, startServe } from '../fixtures/tfmirror.js';

const OPERATOR_TOKEN = 'operator-sidecar-token-for-air-gap-0123456789abcdef01234567';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message?: string;
}

/** A port nothing listens on: the "upstream" refuses every connection. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('air gap: with no upstream reachable, a ProviderSet naming imported versions becomes Ready through the operator', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-air-gap-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await writeMirrorDirectory(path.join(dir, 'export'), [{ namespace: 'hashicorp', type: 'null', versions: { '3.2.1': ['linux_amd64', 'darwin_arm64'] } }]);
  const configFile = path.join(dir, 'tfmirror.hcl');
  // The only upstream for registry.terraform.io is a port that refuses connections: nothing is reachable.
  fs.writeFileSync(configFile, `data_dir = "./data"\nupstream "registry.terraform.io" {\n  url = "https://127.0.0.1:${await closedPort()}/"\n}\n`);
  const env = { TFM_CONFIG: configFile };
  const imported = await runCli(['import', path.join(dir, 'export')], env, { cwd: dir });
  t.is(imported.code, 0, imported.stdout + imported.stderr);

  const kube = await FakeKubeApiserver.start({ bookmarkIntervalMs: 1000 });
  t.teardown(() => kube.close());
  const server = await startServe({ ...env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_OPERATOR_TOKEN: OPERATOR_TOKEN }, { cwd: dir });
  t.teardown(() => server.stop());
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());
  const operator = spawn(process.execPath, [cliPath, 'operator'], {
    cwd: dir,
    env: cleanEnv({
      ...env,
      KUBECONFIG: kubeconfig,
      POD_NAMESPACE: 'tfmirror',
      TFM_OPERATOR_SERVER_URL: server.url.replace(/\/$/, ''),
      TFM_OPERATOR_TOKEN: OPERATOR_TOKEN,
      NODE_EXTRA_CA_CERTS: path.join(dir, 'data', 'tls', 'ca.crt'),
    }),
  });
  let output = '';
  operator.stdout.on('data', (d: Buffer) => (output += d));
  operator.stderr.on('data', (d: Buffer) => (output += d));
  t.teardown(() => void (operator.exitCode === null && operator.kill('SIGKILL')));

  const { CustomObjectsApi } = await import('@kubernetes/client-node');
  const objects = kube.kubeConfig().makeApiClient(CustomObjectsApi);
  await objects.createNamespacedCustomObject({
    group: 'tfmirror.dev',
    version: 'v1alpha1',
    namespace: 'platform',
    plural: 'providersets',
    body: {
      apiVersion: 'tfmirror.dev/v1alpha1',
      kind: 'ProviderSet',
      metadata: { name: 'air-gapped', namespace: 'platform' },
      spec: { providers: [{ source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64', 'darwin_arm64'] }] },
    },
  });

  let status: { conditions?: Condition[]; ready?: number; desired?: number; failed?: number } = {};
  const ready = () => status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const deadline = Date.now() + 30_000;
  while (!ready() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    status = (kube.objects('ProviderSet')[0] as { status?: typeof status } | undefined)?.status ?? {};
  }
  t.true(ready(), `status ${JSON.stringify(status)}\n${output.slice(-3000)}`);
  t.like(status, { desired: 2, ready: 2, failed: 0 });
  operator.kill('SIGTERM');
});
