import test from 'ava';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { createAdminCommand } from '../../server/src/commands/create-admin.js';
import { openRuntime } from '../../server/src/runtime.js';
import { rawRequest, startMirror } from '../fixtures/mirror-server.js';
import { startS3rver, type S3rverFixture } from '../fixtures/s3rver.js';
import { holdModule } from '../pull/module-fakes.js';

const providers = [{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64', 'darwin_arm64'] } }];
const PASSWORD = 'disk-cache-admin-password-9f3k';

/**
 * A pass-through HTTP proxy in front of s3rver that counts the GETs of objects
 * (SigV4 signs the Host header, which the proxy forwards unchanged), and can be
 * stopped to make S3 unreachable while the mirror keeps running.
 */
async function countingS3(s3: S3rverFixture) {
  const target = new URL(s3.endpoint);
  const gets: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    // Object GETs: /bucket/key..., not bucket listings (/bucket?list-type=2).
    if (req.method === 'GET' && url.pathname.split('/').filter(Boolean).length > 1) gets.push(url.pathname);
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    gets,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function mirrorWithDiskCache(extraEnv: Record<string, string> = {}) {
  const s3 = await startS3rver();
  const proxy = await countingS3(s3);
  const m = await startMirror(providers, {
    TFM_STORAGE_TYPE: 's3',
    TFM_STORAGE_BUCKET: s3.bucket,
    TFM_STORAGE_ENDPOINT: proxy.endpoint,
    TFM_STORAGE_FORCE_PATH_STYLE: 'true',
    TFM_STORAGE_ACCESS_KEY_ID: s3.accessKeyId,
    TFM_STORAGE_SECRET_ACCESS_KEY: s3.secretAccessKey,
    TFM_STORAGE_PRESIGN_DOWNLOADS: 'false',
    TFM_AUTH_BCRYPT_COST: '10',
    ...extraEnv,
  });
  return {
    m,
    proxy,
    cacheDir: m.config.cache.diskPath,
    close: async () => {
      await m.close();
      await proxy.stop();
      await s3.close();
    },
  };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const cachedFiles = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.')) : []);

test('a second download of an archive from S3 is served from the disk cache without an S3 GET, Range included', async (t) => {
  const { m, proxy, cacheDir, close } = await mirrorWithDiskCache();
  t.teardown(close);
  const a = m.archives[0]!;
  const url = `/registry.terraform.io/hashicorp/null/${a.filename}`;
  const first = await rawRequest(m.serving.url, url);
  t.is(first.status, 200);
  t.is(sha256(first.body), a.sha256);
  t.is(proxy.gets.length, 1);
  t.is(cachedFiles(cacheDir).length, 1);
  const second = await rawRequest(m.serving.url, url);
  t.is(second.status, 200);
  t.is(second.headers.etag, `"${a.sha256}"`);
  t.deepEqual(second.body, first.body);
  const part = await rawRequest(m.serving.url, url, { headers: { Range: 'bytes=4-11' } });
  t.is(part.status, 206);
  t.is(part.headers['content-range'], `bytes 4-11/${first.body.length}`);
  t.deepEqual(part.body, first.body.subarray(4, 12));
  t.is(proxy.gets.length, 1, 'only the first download reached S3');
  const metrics = await rawRequest(m.serving.url, '/metrics');
  t.regex(metrics.body.toString(), /^archive_disk_cache_hits_total 2$/m);
  t.regex(metrics.body.toString(), /^archive_disk_cache_fills_total 1$/m);
});

test('twenty concurrent cold downloads through the server make one S3 GET', async (t) => {
  const { m, proxy, close } = await mirrorWithDiskCache();
  t.teardown(close);
  const a = m.archives[1]!;
  const url = `/registry.terraform.io/hashicorp/null/${a.filename}`;
  const answers = await Promise.all(Array.from({ length: 20 }, () => rawRequest(m.serving.url, url)));
  for (const r of answers) {
    t.is(r.status, 200);
    t.is(sha256(r.body), a.sha256);
  }
  t.is(proxy.gets.length, 1);
});

test('with S3 unreachable, cached archives are still downloaded and uncached ones fail', async (t) => {
  const { m, proxy, close } = await mirrorWithDiskCache();
  t.teardown(close);
  const [cached, uncached] = [m.archives[0]!, m.archives[1]!];
  t.is((await rawRequest(m.serving.url, `/registry.terraform.io/hashicorp/null/${cached.filename}`)).status, 200);
  await proxy.stop();
  const r = await rawRequest(m.serving.url, `/registry.terraform.io/hashicorp/null/${cached.filename}`);
  t.is(r.status, 200);
  t.is(sha256(r.body), cached.sha256);
  const miss = await rawRequest(m.serving.url, `/registry.terraform.io/hashicorp/null/${uncached.filename}`);
  t.is(miss.status, 503);
});

test('deleting a provider through the admin API removes its cached archives', async (t) => {
  const { m, cacheDir, close } = await mirrorWithDiskCache();
  t.teardown(close);
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  t.is(await createAdminCommand('alice', m.config, Readable.from([`${PASSWORD}\n`]), sink, sink), 0);
  for (const a of m.archives) t.is((await rawRequest(m.serving.url, `/registry.terraform.io/hashicorp/null/${a.filename}`)).status, 200);
  t.is(cachedFiles(cacheDir).length, 2);
  const base = m.serving.url.replace(/\/$/, '');
  const login = await fetch(`${base}/admin/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: PASSWORD }) });
  const { token } = (await login.json()) as { token: string };
  const headers = { authorization: `Bearer ${token}` };
  const list = (await (await fetch(`${base}/admin/api/providers`, { headers })).json()) as { items?: { id: number }[] } | { id: number }[];
  const items = Array.isArray(list) ? list : (list.items ?? []);
  t.is(items.length, 1);
  const del = await fetch(`${base}/admin/api/providers/${items[0]!.id}`, { method: 'DELETE', headers });
  t.true(del.ok, String(del.status));
  await new Promise((r) => setTimeout(r, 100)); // unlinks run in the background
  t.deepEqual(cachedFiles(cacheDir), []);
  t.is((await rawRequest(m.serving.url, `/registry.terraform.io/hashicorp/null/${m.archives[0]!.filename}`)).status, 404);
});

test('with presigning on there is no disk cache: downloads redirect to S3', async (t) => {
  const { m, cacheDir, close } = await mirrorWithDiskCache({ TFM_STORAGE_PRESIGN_DOWNLOADS: 'true' });
  t.teardown(close);
  const r = await rawRequest(m.serving.url, `/registry.terraform.io/hashicorp/null/${m.archives[0]!.filename}`);
  t.is(r.status, 302);
  t.false(fs.existsSync(cacheDir));
  t.is(path.basename(cacheDir), 'cache');
});

test('a module archive is served from the disk cache on its second download', async (t) => {
  const { m, proxy, cacheDir, close } = await mirrorWithDiskCache();
  t.teardown(close);
  const bytes = Buffer.from('normalized tar.gz of vpc 5.1.0 '.repeat(400));
  // Held by another process (its own connection), as tfmirror load beside a running serve would.
  const runtime = await openRuntime(m.config);
  try {
    await holdModule(runtime.repos.modules, runtime.store, { hostname: 'registry.terraform.io', namespace: 'terraform-aws-modules', name: 'vpc', system: 'aws' }, '5.1.0', { bytes, subdir: '' });
  } finally {
    runtime.close();
  }
  const url = '/hosts/registry.terraform.io/v1/modules/terraform-aws-modules/vpc/aws/5.1.0/archive.tar.gz';
  // The server notices the other connection's commit on its next data_version poll.
  const deadline = Date.now() + 5000;
  while ((await rawRequest(m.serving.url, url, { method: 'HEAD' })).status !== 200) {
    if (Date.now() > deadline) throw new Error('the held module version never became visible');
    await new Promise((r) => setTimeout(r, 20));
  }
  const before = proxy.gets.length;
  for (let i = 0; i < 3; i++) {
    const r = await rawRequest(m.serving.url, url);
    t.is(r.status, 200);
    t.deepEqual(r.body, bytes);
  }
  t.is(proxy.gets.length - before, 1);
  t.is(cachedFiles(cacheDir).length, 1);
});
