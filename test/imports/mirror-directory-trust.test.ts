import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { planImport } from '../../server/src/imports/mirror-directory.js';
import { writeMirrorDirectory } from '../fixtures/mirror-directory.js';
import { runCli } from '../fixtures/tfmirror.js';
import { writeZip } from '../fixtures/zips.js';

const test = anyTest as TestFn<{ dir: string; env: Record<string, string> }>;

test.beforeEach((t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-import-trust-'));
  t.context = { dir, env: { TFM_DATA_DIR: path.join(dir, 'data') } };
});
test.afterEach.always((t) => fs.rmSync(t.context.dir, { recursive: true, force: true }));

const nullProvider = { namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64', 'darwin_arm64'] } };

function storedZips(dataDir: string): string[] {
  const root = path.join(dataDir, 'storage');
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.zip')).map((f) => path.basename(f)).sort();
}

function editVersionDoc(typeDir: string, version: string, edit: (doc: { archives: Record<string, { url: string; hashes?: string[] }> }) => void): void {
  const file = path.join(typeDir, `${version}.json`);
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(doc);
  fs.writeFileSync(file, JSON.stringify(doc));
}

const LINUX = 'terraform-provider-null_3.2.0_linux_amd64.zip';
const DARWIN = 'terraform-provider-null_3.2.0_darwin_arm64.zip';

test('an archive its {version}.json gives no hash for is refused, naming the file and --trust-unhashed', async (t) => {
  const exportDir = path.join(t.context.dir, 'export');
  await writeMirrorDirectory(exportDir, [nullProvider]);
  const typeDir = path.join(exportDir, 'registry.terraform.io', 'hashicorp', 'null');
  // No hashes at all for one, only a scheme we cannot check for the other.
  editVersionDoc(typeDir, '3.2.0', (doc) => {
    delete doc.archives['linux_amd64']!.hashes;
    doc.archives['darwin_arm64']!.hashes = ['h9:future-scheme'];
  });

  const refused = await runCli(['import', exportDir], t.context.env);
  t.is(refused.code, 1);
  t.regex(refused.stdout, /0 imported, 0 already held, 2 refused/);
  t.regex(refused.stdout, new RegExp(`refused .*3\\.2\\.0\\.json archives\\.linux_amd64: ${LINUX} has no h1 or zh hash to check it against; --trust-unhashed imports it anyway`));
  t.regex(refused.stdout, new RegExp(`${DARWIN} has no h1 or zh hash`));
  t.deepEqual(storedZips(t.context.env.TFM_DATA_DIR!), []);

  const trusted = await runCli(['import', exportDir, '--trust-unhashed'], t.context.env);
  t.is(trusted.code, 0, trusted.stdout + trusted.stderr);
  t.regex(trusted.stdout, /2 imported, 0 already held, 0 refused/);
  t.regex(trusted.stdout, /2 imported with no hash to check them against \(--trust-unhashed\)/);
  t.deepEqual(storedZips(t.context.env.TFM_DATA_DIR!), [DARWIN, LINUX]);
});

test('hashed archives are imported beside a refused unhashed one', async (t) => {
  const exportDir = path.join(t.context.dir, 'export');
  await writeMirrorDirectory(exportDir, [nullProvider]);
  const typeDir = path.join(exportDir, 'registry.terraform.io', 'hashicorp', 'null');
  editVersionDoc(typeDir, '3.2.0', (doc) => void (doc.archives['linux_amd64']!.hashes = []));

  const res = await runCli(['import', exportDir], t.context.env);
  t.is(res.code, 1);
  t.regex(res.stdout, /1 imported, 0 already held, 1 refused/);
  t.deepEqual(storedZips(t.context.env.TFM_DATA_DIR!), [DARWIN]);
});

test('a zip no {version}.json lists is refused, and --trust-unhashed imports it by its name', async (t) => {
  const exportDir = path.join(t.context.dir, 'export');
  await writeMirrorDirectory(exportDir, [nullProvider]);
  const typeDir = path.join(exportDir, 'registry.terraform.io', 'hashicorp', 'null');
  editVersionDoc(typeDir, '3.2.0', (doc) => void delete doc.archives['linux_amd64']);
  fs.copyFileSync(path.join(typeDir, LINUX), path.join(typeDir, 'something-else.zip'));

  const refused = await runCli(['import', exportDir], t.context.env);
  t.is(refused.code, 1);
  t.regex(refused.stdout, /1 imported, 0 already held, 2 refused/);
  t.regex(refused.stdout, new RegExp(`refused \\S*${LINUX}: ${LINUX} is not listed in any \\{version\\}\\.json, so there is no hash to check it against; --trust-unhashed imports it anyway`));
  t.deepEqual(storedZips(t.context.env.TFM_DATA_DIR!), [DARWIN]);

  const trusted = await runCli(['import', exportDir, '--trust-unhashed'], t.context.env);
  t.is(trusted.code, 1, 'a zip whose name says nothing is still refused');
  t.regex(trusted.stdout, /1 imported, 1 already held, 1 refused/);
  t.regex(trusted.stdout, /something-else\.zip is not listed in any \{version\}\.json and its name is not terraform-provider-null_\{version\}_\{os\}_\{arch\}\.zip/);
  t.deepEqual(storedZips(t.context.env.TFM_DATA_DIR!), [DARWIN, LINUX]);
});

test('an archive for a version whose {version}.json is refused is not also reported as unlisted', async (t) => {
  const exportDir = path.join(t.context.dir, 'export');
  await writeMirrorDirectory(exportDir, [nullProvider]);
  const typeDir = path.join(exportDir, 'registry.terraform.io', 'hashicorp', 'null');
  fs.writeFileSync(path.join(typeDir, '3.2.0.json'), '{ broken');

  const plan = planImport(exportDir, { trustUnhashed: true });
  t.deepEqual(plan.items, []);
  t.deepEqual(plan.refused.map((r) => r.where), [path.join('registry.terraform.io', 'hashicorp', 'null', '3.2.0.json')]);
});

/** A valid, hashed archive outside the export: following a link to it would import it. */
async function outsideTarget(t: { context: { dir: string } }): Promise<string> {
  const outside = path.join(t.context.dir, 'outside');
  await writeMirrorDirectory(outside, [{ namespace: 'acme', type: 'secret', versions: { '1.0.0': ['linux_amd64'] } }]);
  return path.join(outside, 'registry.terraform.io', 'acme', 'secret');
}

const linkCases: { name: string; link(exportDir: string, typeDir: string, outsideTypeDir: string): string }[] = [
  {
    name: 'a listed zip that is a symbolic link',
    link: (_e, typeDir, outside) => {
      const zip = path.join(typeDir, LINUX);
      fs.rmSync(zip);
      fs.symlinkSync(path.join(outside, 'terraform-provider-secret_1.0.0_linux_amd64.zip'), zip);
      return zip;
    },
  },
  {
    name: 'an unlisted zip that is a symbolic link',
    link: (_e, typeDir, outside) => {
      const zip = path.join(typeDir, 'terraform-provider-null_3.2.0_linux_arm64.zip');
      fs.symlinkSync(path.join(outside, 'terraform-provider-secret_1.0.0_linux_amd64.zip'), zip);
      return zip;
    },
  },
  {
    name: 'index.json as a symbolic link',
    link: (_e, typeDir, outside) => {
      const index = path.join(typeDir, 'index.json');
      fs.rmSync(index);
      fs.symlinkSync(path.join(outside, 'index.json'), index);
      return index;
    },
  },
  {
    name: 'a {version}.json as a symbolic link',
    link: (_e, typeDir) => {
      const doc = path.join(typeDir, '3.2.0.json');
      fs.renameSync(doc, path.join(typeDir, '..', 'moved.json'));
      fs.symlinkSync(path.join(typeDir, '..', 'moved.json'), doc);
      return doc;
    },
  },
  {
    name: 'a provider directory that is a symbolic link',
    link: (exportDir, _t, outside) => {
      const dir = path.join(exportDir, 'registry.terraform.io', 'acme', 'secret');
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      fs.symlinkSync(outside, dir);
      return dir;
    },
  },
  {
    name: 'a hostname directory that is a symbolic link',
    link: (exportDir, _t, outside) => {
      const dir = path.join(exportDir, 'mirror.example.com');
      fs.symlinkSync(path.resolve(outside, '..', '..'), dir);
      return dir;
    },
  },
];

for (const c of linkCases) {
  test(`${c.name} is refused by name and never followed`, async (t) => {
    const exportDir = path.join(t.context.dir, 'export');
    await writeMirrorDirectory(exportDir, [nullProvider]);
    const typeDir = path.join(exportDir, 'registry.terraform.io', 'hashicorp', 'null');
    const link = c.link(exportDir, typeDir, await outsideTarget(t));

    for (const trustUnhashed of [false, true]) {
      const plan = planImport(exportDir, { trustUnhashed });
      const refusal = plan.refused.find((r) => r.reason.includes('symbolic link'));
      t.truthy(refusal, JSON.stringify(plan.refused));
      t.true(
        refusal!.where === path.relative(exportDir, link) || refusal!.reason.startsWith(`${path.basename(link)} `),
        `${JSON.stringify(refusal)} names ${path.relative(exportDir, link)}`,
      );
      t.regex(refusal!.reason, /is a symbolic link; import never follows links/);
      t.false(plan.items.some((i) => i.file === link || i.provider.type === 'secret'), 'nothing behind the link is planned');
    }
  });
}

test('a symbolic link is refused through the CLI too, and the rest is imported', async (t) => {
  const exportDir = path.join(t.context.dir, 'export');
  await writeMirrorDirectory(exportDir, [nullProvider]);
  const typeDir = path.join(exportDir, 'registry.terraform.io', 'hashicorp', 'null');
  const zip = path.join(typeDir, LINUX);
  fs.rmSync(zip);
  fs.symlinkSync(path.join(await outsideTarget(t), 'terraform-provider-secret_1.0.0_linux_amd64.zip'), zip);

  const res = await runCli(['import', exportDir, '--trust-unhashed'], t.context.env);
  t.is(res.code, 1);
  t.regex(res.stdout, /1 imported, 0 already held, 1 refused/);
  t.regex(res.stdout, new RegExp(`${LINUX} is a symbolic link; import never follows links`));
  t.deepEqual(storedZips(t.context.env.TFM_DATA_DIR!), [DARWIN]);
});

test('an archive with a symbolic link entry is refused and not stored', async (t) => {
  const exportDir = path.join(t.context.dir, 'export');
  const archives = await writeMirrorDirectory(exportDir, [{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }]);
  const a = archives[0]!;
  // A link entry: the Unix file type S_IFLNK in the mode, the target path as content.
  await writeZip(a.file, [
    { name: 'terraform-provider-null_v3.2.0_x5', content: '#!/bin/sh\n', mode: 0o755 },
    { name: 'LICENSE', content: '/etc/shadow', mode: 0o120777 },
  ]);
  editVersionDoc(path.dirname(a.file), '3.2.0', (doc) => void (doc.archives['linux_amd64']!.hashes = []));

  const res = await runCli(['import', exportDir, '--trust-unhashed'], t.context.env);
  t.is(res.code, 1);
  t.regex(res.stdout, /entry "LICENSE" is a symbolic link; provider packages must not contain links/);
  t.deepEqual(storedZips(t.context.env.TFM_DATA_DIR!), []);
});
