import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import anyTest, { type TestFn } from 'ava';
import pino from 'pino';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository } from '../../server/src/db/providers.js';
import { NotFound, Unavailable } from '../../server/src/errors.js';
import { createApp } from '../../server/src/http/app.js';
import { DownloadCounter } from '../../server/src/mirror/downloads.js';
import { MirrorService } from '../../server/src/mirror/service.js';
import { FilesystemStore } from '../../server/src/storage/filesystem.js';
import type { ObjectStore } from '../../server/src/storage/store.js';
import { rawRequest } from '../fixtures/mirror-server.js';

interface Ctx {
  url: string;
  store: FilesystemStore;
  close(): Promise<void>;
}
const test = anyTest as TestFn<Ctx>;

const provider = { hostname: 'registry.terraform.io', namespace: 'acme', type: 'thing' };
const base = '/registry.terraform.io/acme/thing';
// A hand-made mirror: the same archive name in two versions, with different bytes.
const SHARED = 'terraform-provider-thing.zip';
const bytes = { '1.0.0': Buffer.from('bytes of one'), '2.0.0': Buffer.from('bytes of two, longer') };
const UNIQUE = 'terraform-provider-thing_2.0.0_darwin_arm64.zip';

test.before(async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-archive-'));
  const db = openDatabase(':memory:');
  const providers = new ProviderRepository(db);
  const store = new FilesystemStore({ path: dir });
  const record = async (version: string, osName: string, arch: string, filename: string, body: Buffer) => {
    const sha256 = createHash('sha256').update(body).digest('hex');
    const objectKey = `providers/registry.terraform.io/acme/thing/${version}/${sha256.slice(0, 16)}/${filename}`;
    await store.put(objectKey, Readable.from([body]), { size: body.length });
    providers.recordPackage({ provider, version, origin: 'imported', os: osName, arch, filename, size: body.length, sha256, h1: `h1:${version}`, objectKey });
  };
  await record('1.0.0', 'linux', 'amd64', SHARED, bytes['1.0.0']);
  await record('2.0.0', 'linux', 'amd64', SHARED, bytes['2.0.0']);
  await record('2.0.0', 'darwin', 'arm64', UNIQUE, Buffer.from('darwin bytes'));
  // Version 3.0.0's objects fail to read: a storage outage, and an object gone missing.
  await record('3.0.0', 'linux', 'amd64', 'outage.zip', Buffer.from('x'));
  await record('3.0.0', 'darwin', 'arm64', 'missing.zip', Buffer.from('y'));
  const failures: [string, Error][] = [
    ['/outage.zip', new Unavailable('storage is down')],
    ['/missing.zip', new NotFound('object not found')],
  ];
  const failing: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
    get: (...args: Parameters<ObjectStore['get']>) => {
      const failure = failures.find(([suffix]) => args[0].endsWith(suffix));
      return failure ? Promise.reject(failure[1]) : store.get(...args);
    },
  });
  const mirror = new MirrorService(db, providers);
  const downloads = new DownloadCounter(providers);
  const app = createApp({ logger: pino({ level: 'silent' }), db, store: failing, mirror, downloads, presignTtl: 0 });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.context = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    store,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
test.after.always(async (t) => t.context.close?.());

const get = (t: { context: Ctx }, p: string, headers: Record<string, string> = {}) => rawRequest(t.context.url, p, { headers });

test('{version}.json hands out archive URLs that carry the version', async (t) => {
  const res = await get(t, `${base}/2.0.0.json`);
  const doc = JSON.parse(res.body.toString()) as { archives: Record<string, { url: string }> };
  t.is(doc.archives.linux_amd64?.url, `2.0.0/${SHARED}`);
  t.is(doc.archives.darwin_arm64?.url, `2.0.0/${UNIQUE}`);
});

test('two versions with the same archive filename each serve their own bytes', async (t) => {
  for (const version of ['1.0.0', '2.0.0'] as const) {
    const res = await get(t, `${base}/${version}/${SHARED}`);
    t.is(res.status, 200, version);
    t.deepEqual(res.body, bytes[version], version);
    t.is(res.headers.etag, `"${createHash('sha256').update(bytes[version]).digest('hex')}"`);
  }
});

test('the version-less archive URL is refused when the filename is ambiguous', async (t) => {
  const res = await get(t, `${base}/${SHARED}`);
  t.is(res.status, 404);
});

test('the version-less archive URL still works when one version holds the filename', async (t) => {
  const res = await get(t, `${base}/${UNIQUE}`);
  t.is(res.status, 200);
  t.deepEqual(res.body, Buffer.from('darwin bytes'));
});

test('an archive URL naming a version that does not hold the file is 404', async (t) => {
  const res = await get(t, `${base}/1.0.0/${UNIQUE}`);
  t.is(res.status, 404);
});

function assertNoSuccessCaching(t: { is: (a: unknown, b: unknown, m?: string) => void; false: (v: boolean, m?: string) => void }, res: { headers: Record<string, unknown> }, label: string) {
  t.is(res.headers.etag, undefined, `${label}: ETag`);
  t.is(res.headers['content-disposition'], undefined, `${label}: Content-Disposition`);
  t.false(String(res.headers['cache-control'] ?? '').includes('immutable'), `${label}: immutable`);
}

test('a 404 for an archive carries no success caching headers', async (t) => {
  const res = await get(t, `${base}/2.0.0/terraform-provider-thing_2.0.0_windows_amd64.zip`);
  t.is(res.status, 404);
  assertNoSuccessCaching(t, res, '404');
});

test('a 416 for an unsatisfiable range carries no success caching headers', async (t) => {
  const res = await get(t, `${base}/2.0.0/${SHARED}`, { Range: 'bytes=5000-6000' });
  t.is(res.status, 416);
  t.is(res.headers['content-range'], `bytes */${bytes['2.0.0'].length}`);
  assertNoSuccessCaching(t, res, '416');
});

test('a 503 from the store carries no success caching headers', async (t) => {
  const res = await get(t, `${base}/3.0.0/outage.zip`);
  t.is(res.status, 503);
  assertNoSuccessCaching(t, res, '503');
});

test('a 404 for an archive whose object is missing carries no success caching headers', async (t) => {
  const res = await get(t, `${base}/3.0.0/missing.zip`);
  t.is(res.status, 404);
  assertNoSuccessCaching(t, res, 'missing object');
});

test('a matching If-None-Match on an archive is 304 with its ETag', async (t) => {
  const etag = `"${createHash('sha256').update(bytes['1.0.0']).digest('hex')}"`;
  const res = await get(t, `${base}/1.0.0/${SHARED}`, { 'If-None-Match': etag });
  t.is(res.status, 304);
  t.is(res.headers.etag, etag);
});
