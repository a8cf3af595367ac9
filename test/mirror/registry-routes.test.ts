import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import pino from 'pino';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository, type ProviderIdentity } from '../../server/src/db/providers.js';
import { createApp } from '../../server/src/http/app.js';
import { DownloadCounter } from '../../server/src/mirror/downloads.js';
import { MirrorService } from '../../server/src/mirror/service.js';
import { PullThrough } from '../../server/src/pull/pull-through.js';
import { FilesystemStore } from '../../server/src/storage/filesystem.js';
import { FakeMetadata, FakePuller } from '../pull/fakes.js';

const id: ProviderIdentity = { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' };
const zip = (platform: string) => Buffer.from(`zip ${platform} `.repeat(20));
const test = anyTest as TestFn<{ base: string; metadata: FakeMetadata; close: () => Promise<void> }>;

test.beforeEach(async (t) => {
  const db = openDatabase(':memory:');
  const providers = new ProviderRepository(db);
  const metadata = new FakeMetadata([{ id, versions: { '3.2.0': { linux_amd64: zip('linux_amd64'), darwin_arm64: zip('darwin_arm64') } } }]);
  const seam = new PullThrough({
    policy: { enabled: true, include: ['registry.terraform.io/*/*'], exclude: [] },
    upstreams: ['registry.terraform.io'],
    metadata,
    puller: new FakePuller((_i, _v, platform) => zip(platform)),
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-registry-'));
  const mirror = new MirrorService(db, providers, { missHandler: seam });
  const app = createApp({ logger: pino({ level: 'silent' }), db, store: new FilesystemStore({ path: dir }), mirror, downloads: new DownloadCounter(providers), presignTtl: 0 });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.context = {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    metadata,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
test.afterEach.always((t) => t.context.close());

const providersBase = 'hosts/registry.terraform.io/v1/providers/hashicorp/null/';

test('the versions list carries the upstream versions with protocols and platforms', async (t) => {
  const res = await fetch(new URL(`${providersBase}versions`, t.context.base));
  t.is(res.status, 200);
  t.deepEqual(await res.json(), {
    versions: [{ version: '3.2.0', protocols: ['5.0'], platforms: [{ os: 'linux', arch: 'amd64' }, { os: 'darwin', arch: 'arm64' }] }],
  });
});

test('the download document points every URL at the mirror and carries the upstream signing keys', async (t) => {
  const url = new URL(`${providersBase}3.2.0/download/linux/amd64`, t.context.base);
  const res = await fetch(url);
  t.is(res.status, 200);
  const doc = (await res.json()) as Record<string, unknown> & { signing_keys: { gpg_public_keys: { key_id: string }[] } };
  const release = (await t.context.metadata.release(id, '3.2.0')).value;
  t.is(doc.filename, 'terraform-provider-null_3.2.0_linux_amd64.zip');
  t.is(doc.shasum, release.archives.linux_amd64!.sha256);
  t.deepEqual(doc.signing_keys.gpg_public_keys.map((k) => k.key_id), ['ABCDEF0123456789']);
  // Relative URLs, resolved against the document's URL the way Terraform does.
  const resolve = (u: unknown) => new URL(u as string, url).href;
  t.is(resolve(doc.download_url), new URL('registry.terraform.io/hashicorp/null/3.2.0/terraform-provider-null_3.2.0_linux_amd64.zip', t.context.base).href);
  const archive = await fetch(resolve(doc.download_url));
  t.deepEqual(Buffer.from(await archive.arrayBuffer()), zip('linux_amd64'));
  const sums = await fetch(resolve(doc.shasums_url));
  t.deepEqual(Buffer.from(await sums.arrayBuffer()), release.shasums, 'the upstream SHA256SUMS byte for byte');
  const sig = await fetch(resolve(doc.shasums_signature_url));
  t.deepEqual(Buffer.from(await sig.arrayBuffer()), release.signature);
});

const notFound = [
  ['a platform the release lacks', `${providersBase}3.2.0/download/windows/amd64`],
  ['a version the upstream lacks', `${providersBase}9.9.9/download/linux/amd64`],
  ['a host that is not an upstream', 'hosts/nowhere.example.com/v1/providers/hashicorp/null/versions'],
  ['not a platform', `${providersBase}3.2.0/download/linux/..`],
] as const;
for (const [name, p] of notFound) {
  test(`404 for ${name}`, async (t) => {
    const res = await fetch(new URL(p, t.context.base));
    t.is(res.status, 404);
  });
}

test('a host that is not an upstream makes no upstream call', async (t) => {
  await fetch(new URL('hosts/nowhere.example.com/v1/providers/hashicorp/null/3.2.0/download/linux/amd64', t.context.base));
  t.deepEqual(t.context.metadata.calls, { versions: 0, release: 0 });
});
