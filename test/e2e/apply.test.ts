import path from 'node:path';
import test from 'ava';
import { loadSetup } from '../fixtures/load-setup.js';
import { runCli, startServe } from '../fixtures/tfmirror.js';

const TOKEN = 'apply-operator-token';

test('tfmirror apply -f reconciles ProviderSet YAML once against the server, idempotently', async (t) => {
  const s = await loadSetup([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'], '3.2.1': ['linux_amd64'] } }]);
  t.teardown(() => s.close());
  const server = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_OPERATOR_TOKEN: TOKEN });
  t.teardown(() => server.stop());
  const manifest = s.writeDefinitions(
    'set.yaml',
    `apiVersion: tfmirror.dev/v1alpha1
kind: ProviderSet
metadata:
  name: laptop
  namespace: dev
spec:
  providers:
    - source: hashicorp/null
      versions: ["~> 3.2"]
      platforms: [linux_amd64]
`,
  );
  const env = {
    ...s.env,
    TFM_OPERATOR_SERVER_URL: server.url.replace(/\/$/, ''),
    TFM_OPERATOR_TOKEN: TOKEN,
    NODE_EXTRA_CA_CERTS: path.join(s.dir, 'data', 'tls', 'ca.crt'),
  };
  const first = await runCli(['apply', '-f', manifest], env, { timeoutMs: 120_000 });
  t.is(first.code, 0, first.stdout + first.stderr);
  t.deepEqual(s.packages().map((p) => p.filename), ['terraform-provider-null_3.2.0_linux_amd64.zip', 'terraform-provider-null_3.2.1_linux_amd64.zip']);

  const zips = s.registry.requests(/\.zip$/);
  const again = await runCli(['apply', '-f', manifest], env, { timeoutMs: 120_000 });
  t.is(again.code, 0, again.stdout + again.stderr);
  t.is(s.registry.requests(/\.zip$/), zips, 'nothing fetched again');
  t.is(s.packages().length, 2);
});
