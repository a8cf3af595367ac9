import test from 'ava';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyCommand } from '../../../operator/src/apply.js';
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
---
apiVersion: tfmirror.dev/v1alpha1
kind: ModuleSet
metadata: {name: mods, namespace: platform}
spec:
  modules:
    - {source: terraform-aws-modules/vpc/aws, versions: ["5.1.0", "5.2.0"]}
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
  while (client.records.size < 3) await new Promise((r) => setTimeout(r, 5));
  client.finish('platform', 'base');
  client.finish('default', 'aws');
  client.finish('platform', 'mods');
  const code = await applying;
  t.is(code, 0, text());
  t.deepEqual(client.calls.filter((c) => c.method === 'PUT').map((c) => [c.key, c.body?.uid, c.body?.kind]), [
    ['platform/base', 'apply:platform/base', 'ProviderSet'],
    ['default/aws', 'apply:default/aws', 'ProviderMirror'],
    ['platform/mods', 'apply:platform/mods', 'ModuleSet'],
  ]);
  t.regex(text(), /ModuleSet\/platform\/mods\s+True\s+2\s+2\s+0/);
  t.regex(text(), /ProviderSet\/platform\/base\s+True\s+1\s+1\s+0/);
  t.regex(text(), /ProviderMirror\/default\/aws\s+True\s+2\s+2\s+0/);
});

test('apply A, edit to B, edit back to A: every apply is planned with a generation above the last', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'set.yaml');
  const manifest = (versions: string[]) =>
    `apiVersion: tfmirror.dev/v1alpha1\nkind: ProviderSet\nmetadata: {name: base, namespace: platform}\nspec:\n  providers:\n    - {source: hashicorp/null, versions: ${JSON.stringify(versions)}, platforms: [linux_amd64]}\n`;
  const client = new FakeServerClient();
  const specA = ['3.2.0'];
  const specB = ['3.2.0', '3.2.1'];
  const applied: { generation: number | undefined; versions: unknown }[] = [];
  for (const versions of [specA, specB, specA]) {
    await writeFile(file, manifest(versions));
    const { out, text } = capture();
    t.is(await applyCommand([file], config, out, { client, pollIntervalMs: 5 }), 0, text());
    const spec = client.specs.get('platform/base') as { providers: { versions: string[] }[] };
    applied.push({ generation: client.records.get('platform/base')?.observedGeneration, versions: spec.providers[0]?.versions });
  }
  t.deepEqual(applied, [
    { generation: 1, versions: specA },
    { generation: 2, versions: specB },
    { generation: 3, versions: specA },
  ]);
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
  t.regex(text(), /progress: 0\/5 packages and module versions mirrored/, 'a mix of kinds names both');
});

test('the progress line of a ModuleSet-only apply counts module versions', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'mods.yaml');
  await writeFile(file, manifests.split('---\n').filter((doc) => doc.includes('kind: ModuleSet')).join(''));
  const client = new FakeServerClient();
  client.jobOutcome = 'running';
  const { out, text } = capture();
  t.is(await applyCommand([file], config, out, { client, pollIntervalMs: 5, timeoutMs: 40 }), 1);
  t.regex(text(), /progress: 0\/\d+ module versions mirrored/);
  t.notRegex(text(), /packages/);
});
