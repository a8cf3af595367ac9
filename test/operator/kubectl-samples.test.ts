import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { parseAllDocuments } from 'yaml';
import { FakeKubeApiserver } from '../fixtures/fake-kube-apiserver.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const kubectl = hasKubectl();
if (!kubectl) console.log('# skipping: kubectl is not on PATH');

(kubectl ? test : test.skip)('the real kubectl applies config/samples to the fake apiserver', async (t) => {
  const kube = await FakeKubeApiserver.start();
  t.teardown(() => kube.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-kubectl-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());
  // --validate=false: the fixture serves no OpenAPI document for client-side validation.
  const applied = await run('kubectl', ['--kubeconfig', kubeconfig, 'apply', '--validate=false', '-k', path.join(root, 'config/samples')], { timeout: 30_000 });
  t.regex(applied.stdout, /providerset\.tfmirror\.dev\/\S+ created/);
  t.regex(applied.stdout, /providermirror\.tfmirror\.dev\/\S+ created/);
  t.regex(applied.stdout, /moduleset\.tfmirror\.dev\/\S+ created/);

  for (const [kind, file] of [['ProviderSet', 'tfmirror.dev_v1alpha1_providerset.yaml'], ['ProviderMirror', 'tfmirror.dev_v1alpha1_providermirror.yaml'], ['ModuleSet', 'tfmirror.dev_v1alpha1_moduleset.yaml']] as const) {
    const sample = parseAllDocuments(fs.readFileSync(path.join(root, 'config/samples', file), 'utf8'))[0]!.toJS() as { metadata: { name: string }; spec: unknown };
    const stored = kube.objects(kind).find((o) => (o as unknown as { metadata: { name: string } }).metadata.name === sample.metadata.name) as unknown as { spec: unknown; metadata: { generation: number } } | undefined;
    t.truthy(stored, `${kind} ${sample.metadata.name} stored`);
    t.deepEqual(stored!.spec, sample.spec);
    t.is(stored!.metadata.generation, 1);
  }
  const listed = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'providersets,providermirrors,modulesets', '-A', '-o', 'name'], { timeout: 30_000 });
  t.is(listed.stdout.trim().split('\n').length, 3);
});
