import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { FakeKubeApiserver } from '../fixtures/fake-kube-apiserver.js';
import { loadSetup } from '../fixtures/load-setup.js';
import { findTerraform, lockHashes, terraform, terraformWorkspace } from '../fixtures/terraform.js';
import { cleanEnv, cliPath, startServe } from '../fixtures/tfmirror.js';

const tf = findTerraform();
if (!tf) console.log('# skipping end-to-end tests with terraform: the terraform CLI is not on PATH');
const e2e = tf ? test : test.skip;

const OPERATOR_TOKEN = 'operator-sidecar-token-for-e2e';

interface Condition {
  type: string;
  status: string;
  reason: string;
}

e2e('a ProviderSet applied to the cluster becomes Ready and terraform installs from the mirror', async (t) => {
  const s = await loadSetup([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'], '3.2.1': ['linux_amd64'] } }]);
  t.teardown(() => s.close());
  const kube = await FakeKubeApiserver.start({ bookmarkIntervalMs: 1000 });
  t.teardown(() => kube.close());
  const server = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_OPERATOR_TOKEN: OPERATOR_TOKEN });
  t.teardown(() => server.stop());
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;

  // The operator runs out of cluster: a kubeconfig for the fake apiserver, the server's URL and token.
  const kubeconfig = path.join(s.dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());
  const operator = spawn(process.execPath, [cliPath, 'operator'], {
    env: cleanEnv({
      ...s.env,
      KUBECONFIG: kubeconfig,
      POD_NAMESPACE: 'tfmirror',
      TFM_OPERATOR_SERVER_URL: server.url.replace(/\/$/, ''),
      TFM_OPERATOR_TOKEN: OPERATOR_TOKEN,
      NODE_EXTRA_CA_CERTS: path.join(s.dir, 'data', 'tls', 'ca.crt'),
    }),
  });
  let operatorOutput = '';
  operator.stdout.on('data', (d: Buffer) => (operatorOutput += d));
  operator.stderr.on('data', (d: Buffer) => (operatorOutput += d));
  const operatorExited = new Promise<number | null>((resolve) => operator.on('exit', resolve));
  t.teardown(() => void (operator.exitCode === null && operator.kill('SIGKILL')));

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
  t.true(ready(), `status ${JSON.stringify(status)}\n${operatorOutput.slice(-3000)}`);
  t.is(status.observedGeneration, 1);
  t.is(status.desired, 1);
  t.is(status.ready, 1);

  const ws = terraformWorkspace(s.dir, server.url, `terraform {\n  required_providers {\n    null = { source = "hashicorp/null", version = "~> 3.2" }\n  }\n}\n`);
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
  t.is(init.code, 0, init.output);
  const lock = lockHashes(ws.cwd, 'registry.terraform.io/hashicorp/null')!;
  t.is(lock.version, '3.2.1');
  t.true(lock.hashes.includes(s.registry.release('hashicorp', 'null', '3.2.1').packages.get('linux_amd64')!.h1!));

  operator.kill('SIGTERM');
  t.is(await operatorExited, 0, operatorOutput.slice(-2000));
});
