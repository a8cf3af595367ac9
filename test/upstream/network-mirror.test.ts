import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { getProviderDetail } from '../../server/src/admin/providers/service.js';
import { presentProviderDetail } from '../../server/src/admin/providers/presenters.js';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository } from '../../server/src/db/providers.js';
import { InvalidUpstreamResponse } from '../../server/src/upstream/errors.js';
import { NetworkMirrorClient } from '../../server/src/upstream/network-mirror.js';
import { RegistryClients } from '../../server/src/upstream/registry.js';
import { type FakeArchive, fakePackageEntries, writeMirrorDirectory } from '../fixtures/mirror-directory.js';
import { startStaticServer, type StaticServer } from '../fixtures/static-server.js';
import { runCli } from '../fixtures/tfmirror.js';
import { writeZip } from '../fixtures/zips.js';

interface Ctx {
  dir: string;
  root: string;
  server: StaticServer;
  archives: FakeArchive[];
}
const test = anyTest as TestFn<Ctx>;

test.beforeEach(async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-netmirror-'));
  const root = path.join(dir, 'mirror');
  // The layout `terraform providers mirror` writes: relative archive URLs and one h1: per archive.
  const archives = await writeMirrorDirectory(root, [
    { namespace: 'hashicorp', type: 'null', versions: { '3.1.0': ['linux_amd64'], '3.2.0': ['linux_amd64', 'darwin_arm64'] } },
  ]);
  t.context = { dir, root, server: await startStaticServer(root), archives };
});
test.afterEach.always(async (t) => {
  await t.context.server?.close();
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

function client(t: { context: Ctx }): NetworkMirrorClient {
  return new NetworkMirrorClient({ hostname: 'registry.terraform.io', url: t.context.server.url, ca: t.context.server.caPem });
}

function writeConfig(c: Ctx, upstreamBody: string): Record<string, string> {
  const file = path.join(c.dir, 'tfmirror.hcl');
  fs.writeFileSync(file, `data_dir = "./data"\nupstream "registry.terraform.io" {\n${upstreamBody}\n}\n`);
  return { TFM_CONFIG: file, NODE_EXTRA_CA_CERTS: c.server.caFile };
}

function definitions(c: Ctx): string {
  const file = path.join(c.dir, 'defs.hcl');
  fs.writeFileSync(file, 'provider "hashicorp/null" {\n  versions  = ["3.2.0"]\n  platforms = ["linux_amd64", "darwin_arm64"]\n}\n');
  return file;
}

function readDetail(c: Ctx) {
  const db = openDatabase(path.join(c.dir, 'data', 'tfmirror.db'));
  try {
    const providers = new ProviderRepository(db);
    const rows = db.prepare('SELECT filename, sha256, h1 FROM provider_packages ORDER BY filename').all() as { filename: string; sha256: string; h1: string }[];
    const id = (db.prepare('SELECT id FROM providers').get() as { id: number } | undefined)?.id;
    return { rows, detail: id === undefined ? undefined : presentProviderDetail(getProviderDetail({ providers }, id)) };
  } finally {
    db.close();
  }
}

test.serial('versions come from index.json with their platforms from each {version}.json', async (t) => {
  const c = client(t);
  const list = await c.listVersions('hashicorp', 'null');
  t.deepEqual(list.versions, [
    { version: '3.1.0', protocols: [], platforms: [{ os: 'linux', arch: 'amd64' }] },
    { version: '3.2.0', protocols: [], platforms: [{ os: 'linux', arch: 'amd64' }, { os: 'darwin', arch: 'arm64' }] },
  ]);
  t.deepEqual(list.problems, []);
  c.close();
});

test.serial('download info resolves the archive url against the document and says the package is vouched for by the mirror hashes, unsigned', async (t) => {
  const c = client(t);
  const info = await c.downloadInfo('hashicorp', 'null', '3.2.0', 'darwin', 'arm64');
  const archive = t.context.archives.find((a) => a.version === '3.2.0' && a.platform === 'darwin_arm64')!;
  t.is(info.downloadUrl, `${t.context.server.url}registry.terraform.io/hashicorp/null/${archive.filename}`);
  t.is(info.filename, 'terraform-provider-null_3.2.0_darwin_arm64.zip');
  t.deepEqual(info.trust, { kind: 'unsigned', reason: 'network_mirror', h1: [archive.h1] });
  t.is(info.shasum, '', 'the directory lists no zh: hash');
  t.deepEqual(info.signingKeys, []);
  await t.throwsAsync(c.downloadInfo('hashicorp', 'null', '3.2.0', 'windows', 'amd64'), { message: /platform windows_amd64 not supported/ });
  c.close();
});

test.serial('a zh: hash the mirror lists becomes the shasum to check', async (t) => {
  const typeDir = path.join(t.context.root, 'registry.terraform.io', 'hashicorp', 'null');
  const archive = t.context.archives.find((a) => a.version === '3.1.0')!;
  fs.writeFileSync(path.join(typeDir, '3.1.0.json'), JSON.stringify({ archives: { linux_amd64: { url: `./${archive.filename}`, hashes: [`zh:${archive.sha256}`] } } }));
  const info = await client(t).downloadInfo('hashicorp', 'null', '3.1.0', 'linux', 'amd64');
  t.is(info.shasum, archive.sha256);
  t.deepEqual(info.trust, { kind: 'unsigned', reason: 'network_mirror', h1: [] });
});

test.serial('an archive listed with no hash at all is refused: nothing could vouch for it', async (t) => {
  const typeDir = path.join(t.context.root, 'registry.terraform.io', 'hashicorp', 'null');
  fs.writeFileSync(path.join(typeDir, '3.1.0.json'), JSON.stringify({ archives: { linux_amd64: { url: 'x.zip' } } }));
  await t.throwsAsync(client(t).downloadInfo('hashicorp', 'null', '3.1.0', 'linux', 'amd64'), { instanceOf: InvalidUpstreamResponse, message: /lists no h1: or zh: hash/ });
});

test.serial('RegistryClients gives an upstream with network_mirror the network mirror client, which does no discovery', async (t) => {
  const clients = new RegistryClients({ 'registry.terraform.io': { url: 'https://registry.terraform.io/', networkMirror: t.context.server.url } }, { ca: t.context.server.caPem });
  const c = clients.get('registry.terraform.io');
  t.true(c instanceof NetworkMirrorClient);
  t.is(c.discoveryUrl, undefined);
  t.deepEqual((await c.listVersions('hashicorp', 'null')).versions.map((v) => v.version), ['3.1.0', '3.2.0']);
  t.is(t.context.server.requests('/.well-known/'), 0);
  clients.close();
});

test.serial('tfmirror load through a network_mirror upstream stores the packages unsigned with the mirror h1 verified', async (t) => {
  const env = writeConfig(t.context, `  network_mirror = "${t.context.server.url}"`);
  const res = await runCli(['load', definitions(t.context)], env);
  t.is(res.code, 0, res.stdout + res.stderr);
  t.regex(res.stdout, /2 loaded, 0 already held, 0 failed/);
  const { rows, detail } = readDetail(t.context);
  const expected = t.context.archives.filter((a) => a.version === '3.2.0').sort((a, b) => (a.filename < b.filename ? -1 : 1));
  t.deepEqual(
    rows,
    expected.map((a) => ({ filename: a.filename, sha256: a.sha256, h1: a.h1 })),
  );
  t.like(detail?.versions[0], { version: '3.2.0', origin: 'loaded', keyIds: [], signed: false });
  t.is(t.context.server.requests(/SHA256SUMS/), 0, 'a network mirror has no SHA256SUMS to ask for');
});

test.serial('a zip whose bytes differ from the directory h1 is refused and nothing is stored', async (t) => {
  const archive = t.context.archives.find((a) => a.version === '3.2.0' && a.platform === 'linux_amd64')!;
  // Another, well-formed package under the same name: its h1 is not the one the directory lists.
  await writeZip(archive.file, fakePackageEntries('null', '3.2.0', 'tampered'));
  const env = writeConfig(t.context, `  network_mirror = "${t.context.server.url}"`);
  const defs = path.join(t.context.dir, 'one.hcl');
  fs.writeFileSync(defs, 'provider "hashicorp/null" {\n  versions  = ["3.2.0"]\n  platforms = ["linux_amd64"]\n}\n');
  const res = await runCli(['load', defs], env);
  t.is(res.code, 1, res.stdout + res.stderr);
  t.regex(res.stdout, /failed .*linux_amd64: h1 checksum mismatch for terraform-provider-null_3\.2\.0_linux_amd64\.zip: expected h1:/);
  t.deepEqual(readDetail(t.context).rows, []);
  const stored = path.join(t.context.dir, 'data', 'storage');
  const zips = fs.existsSync(stored) ? (fs.readdirSync(stored, { recursive: true }) as string[]).filter((f) => f.endsWith('.zip')) : [];
  t.deepEqual(zips, []);
});

test.serial('a version index.json lists without a {version}.json is skipped and reported; a bad version key too', async (t) => {
  const typeDir = path.join(t.context.root, 'registry.terraform.io', 'hashicorp', 'null');
  fs.writeFileSync(path.join(typeDir, 'index.json'), JSON.stringify({ versions: { '3.1.0': {}, '3.2.0': {}, '9.9.9': {}, 'not-a-version': {} } }));
  const list = await client(t).listVersions('hashicorp', 'null');
  t.deepEqual(list.versions.map((v) => v.version), ['3.1.0', '3.2.0']);
  t.is(list.problems.length, 2);
  t.regex(list.problems.join('\n'), /version 9\.9\.9 of registry\.terraform\.io\/hashicorp\/null not found upstream; skipped/);
  t.regex(list.problems.join('\n'), /not a semantic version/);
});

test.serial('a provider the mirror does not have is NotFound', async (t) => {
  await t.throwsAsync(client(t).listVersions('hashicorp', 'absent'), { message: 'provider registry.terraform.io/hashicorp/absent not found upstream' });
});

test.serial('listing and then downloading reads each {version}.json once', async (t) => {
  const c = client(t);
  await c.listVersions('hashicorp', 'null');
  await c.downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64');
  await c.downloadInfo('hashicorp', 'null', '3.2.0', 'darwin', 'arm64');
  t.is(t.context.server.requests('/3.2.0.json'), 1);
  c.close();
});

test.serial('an archive url with credentials or another scheme is refused', async (t) => {
  const typeDir = path.join(t.context.root, 'registry.terraform.io', 'hashicorp', 'null');
  for (const url of ['https://user:secret@example.com/x.zip', 'file:///etc/passwd']) {
    fs.writeFileSync(path.join(typeDir, '3.1.0.json'), JSON.stringify({ archives: { linux_amd64: { url, hashes: ['zh:' + 'a'.repeat(64)] } } }));
    const c = client(t);
    await t.throwsAsync(c.downloadInfo('hashicorp', 'null', '3.1.0', 'linux', 'amd64'), { instanceOf: InvalidUpstreamResponse, message: /archives\["linux_amd64"\]\.url/ });
    c.close();
  }
});

test.serial('a provider hostname with a port is a path segment under the base, not a URL scheme', async (t) => {
  const hostDir = path.join(t.context.root, 'tf.example.com:8443');
  fs.cpSync(path.join(t.context.root, 'registry.terraform.io'), hostDir, { recursive: true });
  const c = new NetworkMirrorClient({ hostname: 'tf.example.com:8443', url: t.context.server.url, ca: t.context.server.caPem });
  t.deepEqual((await c.listVersions('hashicorp', 'null')).versions.map((v) => v.version), ['3.1.0', '3.2.0']);
  t.is(t.context.server.requests('/tf.example.com:8443/hashicorp/null/index.json'), 1);
  c.close();
});
