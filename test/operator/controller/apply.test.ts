import test from 'ava';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyCommand, specGeneration } from '../../../operator/src/apply.js';
import type { Config } from '../../../server/src/config/types.js';
import { FakeServerClient } from './fake-server-client.js';

const config = { operator: { serverUrl: 'http://127.0.0.1:1', token: 't', tokenFile: '', namespace: '' } } as Config;

const manifests = `apiVersion: tfmirror.dev/v1alpha1
kind: ProviderSet
metadata: {name: base, namespace: platform}
spec:
  providers:
    - source: hashicorp/null
      versions: ["3.2.0"]
      platforms: [linux_amd64]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
---
apiVersion: tfmirror.dev/v1alpha1
kind: ProviderMirror
metadata: {name: aws}
spec: {source: hashicorp/aws, versions: ["5.31.0"], platforms: [linux_amd64, darwin_arm64]}
`;

async function tempDir(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tfm-apply-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function capture() {
  let text = '';
  return { out: { write: (s: string) => (text += s) }, text: () => text };
}

test('apply PUTs every custom resource of a directory, waits for the jobs and exits 0 when all are ready', async (t) => {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'sub'));
  await writeFile(path.join(dir, 'sub', 'sets.yaml'), manifests);
  await writeFile(path.join(dir, 'README.md'), 'not yaml');
  const client = new FakeServerClient();
  client.jobOutcome = 'running';
  const { out, text } = capture();
  const applying = applyCommand([dir], config, out, { client, pollIntervalMs: 10 });
  while (client.records.size < 2) await new Promise((r) => setTimeout(r, 5));
  client.finish('platform', 'base');
  client.finish('default', 'aws');
  const code = await applying;
  t.is(code, 0, text());
  t.deepEqual(client.calls.filter((c) => c.method === 'PUT').map((c) => [c.key, c.body?.uid, c.body?.kind]), [
    ['platform/base', 'apply:platform/base', 'ProviderSet'],
    ['default/aws', 'apply:default/aws', 'ProviderMirror'],
  ]);
  t.regex(text(), /ProviderSet\/platform\/base\s+True\s+1\s+1\s+0/);
  t.regex(text(), /ProviderMirror\/default\/aws\s+True\s+2\s+2\s+0/);
});

test('applying unchanged files sends the same generation, and an edit a different one', async (t) => {
  const spec = { providers: [{ source: 'hashicorp/null', versions: ['3.2.0'], platforms: ['linux_amd64'] }] };
  t.is(specGeneration('ProviderSet', spec), specGeneration('ProviderSet', structuredClone(spec)));
  t.is(specGeneration('ProviderSet', { deletionPolicy: undefined, ...spec }), specGeneration('ProviderSet', spec));
  t.not(specGeneration('ProviderSet', spec), specGeneration('ProviderSet', { ...spec, deletionPolicy: 'Delete' }));
  t.true(Number.isSafeInteger(specGeneration('ProviderSet', spec)) && specGeneration('ProviderSet', spec) > 0);
});

test('apply exits 1 when a spec is refused and reports it in the table', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'bad.yaml');
  await writeFile(file, 'apiVersion: tfmirror.dev/v1alpha1\nkind: ProviderSet\nmetadata: {name: bad}\nspec: {invalid: true}\n');
  const { out, text } = capture();
  const code = await applyCommand([file], config, out, { client: new FakeServerClient(), pollIntervalMs: 10 });
  t.is(code, 1);
  t.regex(text(), /ProviderSet\/default\/bad\s+False.*not a provider address/);
});

test('apply gives up on jobs still running at the timeout', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'set.yaml');
  await writeFile(file, manifests);
  const client = new FakeServerClient();
  client.jobOutcome = 'running';
  const { out, text } = capture();
  const code = await applyCommand([file], config, out, { client, pollIntervalMs: 5, timeoutMs: 40 });
  t.is(code, 1);
  t.regex(text(), /Timeout/);
  t.regex(text(), /progress: 0\/3 packages mirrored/);
});
