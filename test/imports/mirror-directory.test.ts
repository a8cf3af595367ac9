import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { writeMirrorDirectory } from '../fixtures/mirror-directory.js';
import { runCli } from '../fixtures/tfmirror.js';
import { writeZip } from '../fixtures/zips.js';

const test = anyTest as TestFn<{ dir: string; env: Record<string, string> }>;

test.beforeEach((t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-import-'));
  t.context = { dir, env: { TFM_DATA_DIR: path.join(dir, 'data') } };
});
test.afterEach.always((t) => fs.rmSync(t.context.dir, { recursive: true, force: true }));

const nullProvider = { namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64', 'darwin_arm64'] } };

function storedFiles(dataDir: string): string[] {
  const root = path.join(dataDir, 'storage');
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.zip')).sort();
}

test('re-importing the same directory changes nothing', async (t) => {
  const exportDir = path.join(t.context.dir, 'export');
  await writeMirrorDirectory(exportDir, [nullProvider]);
  const first = await runCli(['import', exportDir], t.context.env);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /2 imported, 0 already held, 0 refused/);
  const filesAfterFirst = storedFiles(t.context.env.TFM_DATA_DIR!);
  t.is(filesAfterFirst.length, 2);

  const second = await runCli(['import', exportDir], t.context.env);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stdout, /0 imported, 2 already held, 0 refused/);
  t.deepEqual(storedFiles(t.context.env.TFM_DATA_DIR!), filesAfterFirst);
});

test('an archive whose h1 differs from its {version}.json is refused and not stored', async (t) => {
  const exportDir = path.join(t.context.dir, 'export');
  const archives = await writeMirrorDirectory(exportDir, [nullProvider]);
  const tampered = archives.find((a) => a.platform === 'linux_amd64')!;
  await writeZip(tampered.file, [{ name: 'terraform-provider-null_v3.2.0_x5', content: 'something else' }]);

  const res = await runCli(['import', exportDir], t.context.env);
  t.is(res.code, 1);
  t.regex(res.stdout, /1 imported, 0 already held, 1 refused/);
  t.regex(res.stdout, new RegExp(`refused ${tampered.filename}: h1 checksum mismatch`));
  t.deepEqual(storedFiles(t.context.env.TFM_DATA_DIR!).map((f) => path.basename(f)), ['terraform-provider-null_3.2.0_darwin_arm64.zip']);
});

test('different bytes for a version already held are refused: published packages are immutable', async (t) => {
  const first = path.join(t.context.dir, 'first');
  await writeMirrorDirectory(first, [nullProvider]);
  t.is((await runCli(['import', first], t.context.env)).code, 0);

  // A second export of the same version with other contents (and honest hashes for them).
  const second = path.join(t.context.dir, 'second');
  const archives = await writeMirrorDirectory(second, [nullProvider]);
  const a = archives[0]!;
  await writeZip(a.file, [{ name: 'terraform-provider-null_v3.2.0_x5', content: 'rebuilt' }]);
  const docFile = path.join(path.dirname(a.file), '3.2.0.json');
  const doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));
  doc.archives[a.platform].hashes = [];
  fs.writeFileSync(docFile, JSON.stringify(doc));

  // Without hashes the archive needs --trust-unhashed even to get as far as the immutability check.
  const res = await runCli(['import', second, '--trust-unhashed'], t.context.env);
  t.is(res.code, 1);
  t.regex(res.stdout, /immutable/);
});

test('documents that are not a mirror layout are refused with where and why', async (t) => {
  const exportDir = path.join(t.context.dir, 'export');
  const typeDir = path.join(exportDir, 'registry.terraform.io', 'acme', 'bad');
  fs.mkdirSync(typeDir, { recursive: true });
  fs.writeFileSync(path.join(typeDir, 'index.json'), JSON.stringify({ versions: { '1.0.0': {}, 'not-a-version': {}, '2.0.0': {} } }));
  fs.writeFileSync(path.join(typeDir, '1.0.0.json'), JSON.stringify({ archives: { linux_amd64: { url: '../../../../etc/passwd.zip' } } }));
  fs.writeFileSync(path.join(typeDir, '2.0.0.json'), '{ not json');
  fs.mkdirSync(path.join(exportDir, 'registry.terraform.io', 'Bad Namespace!', 'x'), { recursive: true });

  const res = await runCli(['import', exportDir], t.context.env);
  t.is(res.code, 1);
  t.regex(res.stdout, /0 imported, 0 already held, 4 refused/);
  t.regex(res.stdout, /1\.0\.0\.json archives\.linux_amd64: url must be a \.zip file name next to the document/);
  t.regex(res.stdout, /"not-a-version" is not a valid version/);
  t.regex(res.stdout, /2\.0\.0\.json: 2\.0\.0\.json is not valid JSON/);
  t.regex(res.stdout, /is not a provider address/);
});

test('a missing directory or a bad config exits 2 with one clear line', async (t) => {
  const missing = await runCli(['import', path.join(t.context.dir, 'nope')], t.context.env);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /^tfmirror: .*nope is not a directory\n$/);
  const badConfig = await runCli(['import', t.context.dir], { ...t.context.env, TFM_SERVER_LISTNE: 'x' });
  t.is(badConfig.code, 2);
  t.regex(badConfig.stderr, /TFM_SERVER_LISTNE/);
  t.false(fs.existsSync(t.context.env.TFM_DATA_DIR!), 'nothing is created before the config is valid');
});
