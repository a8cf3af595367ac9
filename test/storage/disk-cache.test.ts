import { S3Client } from '@aws-sdk/client-s3';
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { S3StorageConfig } from '../../server/src/config/types.js';
import { NotFound } from '../../server/src/errors.js';
import { CachedArchiveStore, readArchive, type ArchiveExpectation } from '../../server/src/storage/disk-cache.js';
import { S3Store } from '../../server/src/storage/s3.js';
import type { ObjectStream } from '../../server/src/storage/store.js';
import { startS3rver, type S3rverFixture } from '../fixtures/s3rver.js';

// One s3rver for the file (tests that stop S3 start their own); each test has its own key prefix and cache directory.
let shared: Promise<S3rverFixture> | undefined;
let nextPrefix = 0;
const dirs: string[] = [];

test.after.always(async () => {
  if (shared) await (await shared).close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Setup {
  inner: S3Store;
  cache: CachedArchiveStore;
  dir: string;
  /** Keys of every GetObject sent to S3, in order. */
  gets: string[];
  clock: { now: number };
  put(key: string, bytes: Buffer): Promise<ArchiveExpectation>;
}

async function setup(opts: { maxBytes?: number; ttlSeconds?: number; s3?: S3rverFixture } = {}): Promise<Setup> {
  const s3 = opts.s3 ?? (await (shared ??= startS3rver()));
  const config: S3StorageConfig = {
    type: 's3',
    bucket: s3.bucket,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    prefix: `cache/t${nextPrefix++}`,
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    presignDownloads: false,
    presignTtl: 300,
  };
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    maxAttempts: 1,
  });
  const gets: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') gets.push((args.input as { Key: string }).Key);
      return next(args);
    },
    { step: 'initialize', name: 'countGets' },
  );
  const inner = new S3Store(config, { client });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-disk-cache-'));
  dirs.push(dir);
  const clock = { now: 1_000_000 };
  const cache = new CachedArchiveStore(inner, { dir, maxBytes: opts.maxBytes ?? 10 * 2 ** 20, ttlSeconds: opts.ttlSeconds ?? 0, now: () => clock.now });
  await cache.init();
  return {
    inner,
    cache,
    dir,
    gets,
    clock,
    async put(key, bytes) {
      await inner.put(key, Readable.from([bytes]));
      return { sha256: sha256(bytes), size: bytes.length };
    },
  };
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function bytesOf(object: ObjectStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of object.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Cached files (final names only). */
function cachedFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => !n.startsWith('.'));
}

test('a second read of an archive is served from disk without an S3 GET', async (t) => {
  const s = await setup();
  const bytes = randomBytes(300_000);
  const expect = await s.put('providers/a.zip', bytes);
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/a.zip', expect)), bytes);
  t.is(s.gets.length, 1);
  const again = await s.cache.getArchive('providers/a.zip', expect);
  t.is(again.size, bytes.length);
  t.deepEqual(await bytesOf(again), bytes);
  t.is(s.gets.length, 1);
  t.like(s.cache.stats(), { hits: 1, misses: 1, fills: 1, fillBytes: bytes.length, bytes: bytes.length, entries: 1 });
});

test('twenty concurrent cold reads make one S3 GET and all get the whole archive', async (t) => {
  const s = await setup();
  const bytes = randomBytes(2 * 2 ** 20);
  const expect = await s.put('providers/big.zip', bytes);
  const bodies = await Promise.all(Array.from({ length: 20 }, async () => bytesOf(await s.cache.getArchive('providers/big.zip', expect))));
  t.is(s.gets.length, 1);
  for (const b of bodies) t.is(sha256(b), expect.sha256);
  t.like(s.cache.stats(), { fills: 1, joined: 19 });
});

test('a range of a cached archive is read from the file', async (t) => {
  const s = await setup();
  const bytes = randomBytes(100_000);
  const expect = await s.put('modules/m.tar.gz', bytes);
  await bytesOf(await s.cache.getArchive('modules/m.tar.gz', expect));
  const part = await s.cache.getArchive('modules/m.tar.gz', expect, { start: 4096, end: 8191 });
  t.like(part, { size: 4096, totalSize: bytes.length, range: { start: 4096, end: 8191 } });
  t.deepEqual(await bytesOf(part), bytes.subarray(4096, 8192));
  t.is(s.gets.length, 1);
});

test('a cold range read fills the whole archive once and answers the slice', async (t) => {
  const s = await setup();
  const bytes = randomBytes(50_000);
  const expect = await s.put('providers/r.zip', bytes);
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/r.zip', expect, { start: 10, end: 19 })), bytes.subarray(10, 20));
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/r.zip', expect)), bytes);
  t.is(s.gets.length, 1);
});

test('eviction keeps the cache within its size and removes the least recently used archive', async (t) => {
  const s = await setup({ maxBytes: 250_000 });
  const a = randomBytes(100_000);
  const b = randomBytes(100_000);
  const c = randomBytes(100_000);
  const ea = await s.put('providers/a.zip', a);
  const eb = await s.put('providers/b.zip', b);
  const ec = await s.put('providers/c.zip', c);
  await bytesOf(await s.cache.getArchive('providers/a.zip', ea));
  await bytesOf(await s.cache.getArchive('providers/b.zip', eb));
  await bytesOf(await s.cache.getArchive('providers/a.zip', ea)); // a is now more recent than b
  await bytesOf(await s.cache.getArchive('providers/c.zip', ec));
  t.like(s.cache.stats(), { entries: 2, bytes: 200_000, evictions: 1 });
  await new Promise((r) => setTimeout(r, 50)); // the unlink runs in the background
  const onDisk = cachedFiles(s.dir).reduce((sum, n) => sum + fs.statSync(path.join(s.dir, n)).size, 0);
  t.true(onDisk <= 250_000);
  const getsBefore = s.gets.length;
  await bytesOf(await s.cache.getArchive('providers/a.zip', ea));
  await bytesOf(await s.cache.getArchive('providers/c.zip', ec));
  t.is(s.gets.length, getsBefore, 'a and c are still cached');
  await bytesOf(await s.cache.getArchive('providers/b.zip', eb));
  t.is(s.gets.length, getsBefore + 1, 'b was evicted');
});

test('an archive being read is not cut off when it is evicted', async (t) => {
  const s = await setup({ maxBytes: 3 * 2 ** 20 });
  const a = randomBytes(2 * 2 ** 20);
  const b = randomBytes(2 * 2 ** 20);
  const ea = await s.put('providers/a.zip', a);
  const eb = await s.put('providers/b.zip', b);
  await bytesOf(await s.cache.getArchive('providers/a.zip', ea));
  const reading = await s.cache.getArchive('providers/a.zip', ea);
  await bytesOf(await s.cache.getArchive('providers/b.zip', eb)); // evicts a while its stream is open
  t.is(s.cache.stats().evictions, 1);
  t.is(sha256(await bytesOf(reading)), ea.sha256);
});

test('an archive larger than the cache is streamed from S3 and never written to disk', async (t) => {
  const s = await setup({ maxBytes: 1000 });
  const bytes = randomBytes(5000);
  const expect = await s.put('providers/huge.zip', bytes);
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/huge.zip', expect)), bytes);
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/huge.zip', expect)), bytes);
  t.is(s.gets.length, 2);
  t.deepEqual(fs.readdirSync(s.dir), []);
  t.is(s.cache.stats().bypassed, 2);
});

test('bytes in S3 that do not match the recorded sha256 are not cached; the answer comes from S3', async (t) => {
  const s = await setup();
  const stored = randomBytes(10_000);
  await s.put('providers/tampered.zip', stored);
  const recorded = { sha256: sha256(randomBytes(10_000)), size: 10_000 };
  const seen: string[] = [];
  const cache = new CachedArchiveStore(s.inner, { dir: s.dir, maxBytes: 2 ** 20, ttlSeconds: 0, onIntegrityFailure: (key) => seen.push(key) });
  await cache.init();
  t.deepEqual(await bytesOf(await cache.getArchive('providers/tampered.zip', recorded)), stored);
  t.deepEqual(fs.readdirSync(s.dir), [], 'neither a cached file nor a temp file is left');
  t.deepEqual(seen, ['providers/tampered.zip']);
  t.like(cache.stats(), { integrityFailures: 1, entries: 0, fills: 0 });
  await bytesOf(await cache.getArchive('providers/tampered.zip', recorded));
  t.is(s.gets.length, 4, 'each read tries one fill and then streams from S3');
});

test('without a ttl the disk is trusted: a cached file is not re-hashed on a hit', async (t) => {
  const s = await setup();
  const bytes = randomBytes(20_000);
  const expect = await s.put('providers/trusted.zip', bytes);
  await bytesOf(await s.cache.getArchive('providers/trusted.zip', expect));
  const file = path.join(s.dir, cachedFiles(s.dir)[0]!);
  const flipped = fs.readFileSync(file);
  flipped[100] = flipped[100]! ^ 0xff;
  fs.writeFileSync(file, flipped);
  s.clock.now += 365 * 86_400_000;
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/trusted.zip', expect)), flipped);
  t.is(s.gets.length, 1);
});

test('with a ttl a corrupted cached file is detected, dropped and filled again from S3', async (t) => {
  const s = await setup({ ttlSeconds: 60 });
  const bytes = randomBytes(20_000);
  const expect = await s.put('providers/flip.zip', bytes);
  await bytesOf(await s.cache.getArchive('providers/flip.zip', expect));
  const file = path.join(s.dir, cachedFiles(s.dir)[0]!);
  const flipped = fs.readFileSync(file);
  flipped[100] = flipped[100]! ^ 0xff;
  fs.writeFileSync(file, flipped);
  s.clock.now += 30_000;
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/flip.zip', expect)), flipped, 'within the ttl the copy is served as it is');
  s.clock.now += 61_000;
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/flip.zip', expect)), bytes);
  t.is(s.gets.length, 2);
  t.like(s.cache.stats(), { integrityFailures: 1, fills: 2 });
  t.deepEqual(fs.readFileSync(path.join(s.dir, cachedFiles(s.dir)[0]!)), bytes);
});

test('with a ttl an archive gone from S3 is no longer served from the cache', async (t) => {
  const s = await setup({ ttlSeconds: 60 });
  const bytes = randomBytes(1000);
  const expect = await s.put('providers/gone.zip', bytes);
  await bytesOf(await s.cache.getArchive('providers/gone.zip', expect));
  await s.inner.delete('providers/gone.zip'); // behind the cache's back, e.g. by another process
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/gone.zip', expect)), bytes, 'within the ttl');
  s.clock.now += 61_000;
  await t.throwsAsync(s.cache.getArchive('providers/gone.zip', expect), { instanceOf: NotFound });
  t.deepEqual(cachedFiles(s.dir), []);
});

test('deleting an object through the store removes its cached file', async (t) => {
  const s = await setup();
  const bytes = randomBytes(1000);
  const expect = await s.put('providers/del.zip', bytes);
  await bytesOf(await s.cache.getArchive('providers/del.zip', expect));
  t.is(cachedFiles(s.dir).length, 1);
  await s.cache.delete('providers/del.zip');
  await new Promise((r) => setTimeout(r, 50));
  t.deepEqual(cachedFiles(s.dir), []);
  t.like(s.cache.stats(), { entries: 0, bytes: 0, invalidations: 1 });
  await t.throwsAsync(s.cache.getArchive('providers/del.zip', expect), { instanceOf: NotFound });
});

test('a key stored again with other bytes is filled again, not served from the old copy', async (t) => {
  const s = await setup();
  const first = await s.put('providers/k.zip', randomBytes(1000));
  await bytesOf(await s.cache.getArchive('providers/k.zip', first));
  const bytes = randomBytes(1000);
  const second = await s.put('providers/k.zip', bytes);
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/k.zip', second)), bytes);
  t.is(s.gets.length, 2);
  t.is(cachedFiles(s.dir).length, 1);
});

test('with S3 stopped, cached archives are still served (also past the ttl)', async (t) => {
  const own = await startS3rver();
  const s = await setup({ s3: own, ttlSeconds: 60 });
  const bytes = randomBytes(50_000);
  const expect = await s.put('providers/offline.zip', bytes);
  await bytesOf(await s.cache.getArchive('providers/offline.zip', expect));
  await own.close();
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/offline.zip', expect)), bytes);
  s.clock.now += 61_000;
  t.deepEqual(await bytesOf(await s.cache.getArchive('providers/offline.zip', expect, { start: 0, end: 9 })), bytes.subarray(0, 10));
  t.is(s.cache.stats().staleServed, 1);
});

test('at start the index is rebuilt from the directory, temp files of a killed fill are removed and other files kept', async (t) => {
  const s = await setup();
  const bytes = randomBytes(5000);
  const expect = await s.put('providers/keep.zip', bytes);
  await bytesOf(await s.cache.getArchive('providers/keep.zip', expect));
  fs.writeFileSync(path.join(s.dir, '.fill-0b2c3d.tmp'), 'half an archive');
  fs.writeFileSync(path.join(s.dir, 'stray'), 'x');
  const restarted = new CachedArchiveStore(s.inner, { dir: s.dir, maxBytes: 2 ** 20, ttlSeconds: 0 });
  await restarted.init();
  t.false(fs.existsSync(path.join(s.dir, '.fill-0b2c3d.tmp')));
  t.is(fs.readFileSync(path.join(s.dir, 'stray'), 'utf8'), 'x', 'files the cache did not name are left alone');
  t.like(restarted.stats(), { entries: 1 });
  t.like(restarted.stats(), { entries: 1, bytes: 5000 });
  t.deepEqual(await bytesOf(await restarted.getArchive('providers/keep.zip', expect)), bytes);
  t.is(s.gets.length, 1);
});

test('at start a directory holding more than the limit is evicted down to it', async (t) => {
  const s = await setup();
  for (const k of ['a', 'b', 'c']) {
    const e = await s.put(`providers/${k}.zip`, randomBytes(1000));
    await bytesOf(await s.cache.getArchive(`providers/${k}.zip`, e));
  }
  const smaller = new CachedArchiveStore(s.inner, { dir: s.dir, maxBytes: 2500, ttlSeconds: 0 });
  await smaller.init();
  t.like(smaller.stats(), { entries: 2, bytes: 2000 });
});

test('readArchive reads a store without a disk cache directly', async (t) => {
  const s = await setup();
  const bytes = randomBytes(100);
  const expect = await s.put('providers/plain.zip', bytes);
  t.deepEqual(await bytesOf(await readArchive(s.inner, 'providers/plain.zip', expect)), bytes);
  t.deepEqual(await bytesOf(await readArchive(s.cache, 'providers/plain.zip', expect)), bytes);
  t.deepEqual(await bytesOf(await readArchive(s.cache, 'providers/plain.zip', expect)), bytes);
  t.is(s.gets.length, 2);
});
