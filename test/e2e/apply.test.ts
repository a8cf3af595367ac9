import path from 'node:path';
import test from 'ava';
import { loadSetup } from '../fixtures/load-setup.js';
import { runCli, startServe } from '../fixtures/tfmirror.js';

const TOKEN = 'apply-operator-token-0123456789abcdef0123456789abcdef';

test('tfmirror apply -f reconciles ProviderSet YAML once against the server, idempotently', async (t) => {
  const s = await loadSetup([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'], '3.2.1': ['linux_amd64'] } }]);
  t.teardown(() => s.close());
  const server = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_OPERATOR_TOKEN: TOKEN });
  t.teardown(() => server.stop());
  const setYaml = (versions: string) => `apiVersion: tfmirror.dev/v1alpha1
kind: ProviderSet
metadata:
  name: laptop
  namespace: dev
spec:
  providers:
    - source: hashicorp/null
      versions: [${versions}]
      platforms: [linux_amd64]
`;
  const manifest = s.writeDefinitions('set.yaml', setYaml('"~> 3.2"'));
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

  // Edit, then edit back: both are applied (a generation derived from the spec would refuse one of them as old).
  s.writeDefinitions('set.yaml', setYaml('"3.2.0"'));
  const narrowed = await runCli(['apply', '-f', manifest], env, { timeoutMs: 120_000 });
  t.is(narrowed.code, 0, narrowed.stdout + narrowed.stderr);
  t.regex(narrowed.stdout, /ProviderSet\/dev\/laptop\s+True\s+1\s+1\s+0/);
  s.writeDefinitions('set.yaml', setYaml('"~> 3.2"'));
  const widened = await runCli(['apply', '-f', manifest], env, { timeoutMs: 120_000 });
  t.is(widened.code, 0, widened.stdout + widened.stderr);
  t.regex(widened.stdout, /ProviderSet\/dev\/laptop\s+True\s+2\s+2\s+0/);
});
