/**
 * The ObjectStore contract, run against every adapter: whatever the read and
 * write paths rely on must hold for the filesystem and for S3 alike.
 */
import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { IntegrityError, InvalidInput, NotFound } from '../../server/src/errors.js';
import type { ObjectStore } from '../../server/src/storage/store.js';

export interface StoreHandle {
  store: ObjectStore;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
/** Past 8 MiB so S3 uploads go multipart, and not a multiple of the part size or the chunk size. */
export const BIG = 12 * MiB + MiB / 2 + 3;

/** A generator-backed body of fresh random bytes; `sha256()` is valid once it has been fully read. */
export function randomBody(size: number, opts: { failAfter?: number } = {}) {
  const hash = createHash('sha256');
  const CHUNK = 65_537;
  async function* chunks() {
    for (let sent = 0; sent < size; ) {
      if (opts.failAfter !== undefined && sent >= opts.failAfter) throw new Error('upstream connection reset');
      const chunk = randomBytes(Math.min(CHUNK, size - sent));
      hash.update(chunk);
      sent += chunk.length;
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks()), sha256: () => hash.digest('hex') };
}

export async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

export async function sha256Of(body: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function text(store: ObjectStore, key: string): Promise<string> {
  return (await readAll((await store.get(key)).body)).toString('utf8');
}

export function storeContract(name: string, makeStore: () => Promise<StoreHandle>): void {
  /** Runs body against a fresh store and always cleans up. */
  function withStore(title: string, body: (t: ExecutionContext, store: ObjectStore) => Promise<void>) {
    test(`${name}: ${title}`, async (t) => {
      const handle = await makeStore();
      try {
        await body(t, handle.store);
      } finally {
        await handle.cleanup();
      }
    });
  }

  withStore('a multi-MiB body streams in and back out byte for byte', async (t, store) => {
    const source = randomBody(BIG);
    const info = await store.put('hashicorp/aws/5.31.0/big.zip', source.stream, { size: BIG, contentType: 'application/zip' });
    const expected = source.sha256();
    t.is(info.key, 'hashicorp/aws/5.31.0/big.zip');
    t.is(info.size, BIG);
    t.true(info.lastModified instanceof Date);
    t.is((await store.head(info.key))?.size, BIG);
    const got = await store.get(info.key);
    t.is(got.size, BIG);
    t.is(got.totalSize, BIG);
    t.is(got.range, undefined);
    t.is(await sha256Of(got.body), expected);
  });

  withStore('a range read spanning an 8 MiB boundary returns exactly those bytes', async (t, store) => {
    const whole = randomBytes(9 * MiB);
    await store.put('span', Readable.from([whole.subarray(0, 5 * MiB), whole.subarray(5 * MiB)]));
    const range = { start: 8 * MiB - 10, end: 8 * MiB + 9 };
    const got = await store.get('span', range);
    t.deepEqual(await readAll(got.body), whole.subarray(range.start, range.end + 1));
  });

  const content = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
  const ranges = [
    { name: 'the first bytes', start: 0, end: 99 },
    { name: 'the middle', start: 400, end: 599 },
    { name: 'the last byte', start: 999, end: 999 },
    { name: 'the whole object', start: 0, end: 999 },
  ];
  for (const r of ranges) {
    withStore(`a range read of ${r.name} returns exactly those bytes`, async (t, store) => {
      await store.put('ranged', Readable.from([content]));
      const got = await store.get('ranged', { start: r.start, end: r.end });
      t.is(got.size, r.end - r.start + 1);
      t.is(got.totalSize, content.length);
      t.deepEqual(got.range, { start: r.start, end: r.end });
      t.deepEqual(await readAll(got.body), content.subarray(r.start, r.end + 1));
    });
  }

  withStore('a range beyond the object is InvalidInput', async (t, store) => {
    await store.put('ranged', Readable.from([content]));
    await t.throwsAsync(store.get('ranged', { start: 990, end: 1000 }), { instanceOf: InvalidInput });
    await t.throwsAsync(store.get('ranged', { start: 1000, end: 1000 }), { instanceOf: InvalidInput });
    await t.throwsAsync(store.get('ranged', { start: 10, end: 5 }), { instanceOf: InvalidInput });
  });

  withStore('head of a missing key is null', async (t, store) => {
    t.is(await store.head('no/such/object'), null);
  });

  withStore('get of a missing key rejects with NotFound', async (t, store) => {
    await t.throwsAsync(store.get('no/such/object'), { instanceOf: NotFound });
    await t.throwsAsync(store.get('no/such/object', { start: 0, end: 0 }), { instanceOf: NotFound });
  });

  withStore('a second put replaces the object', async (t, store) => {
    await store.put('k', Readable.from([Buffer.from('first version')]));
    const info = await store.put('k', Readable.from([Buffer.from('v2')]));
    t.is(info.size, 2);
    t.is(await text(store, 'k'), 'v2');
  });

  withStore('an empty body stores an empty object', async (t, store) => {
    const info = await store.put('empty', Readable.from([]), { size: 0 });
    t.is(info.size, 0);
    t.is((await readAll((await store.get('empty')).body)).length, 0);
  });

  withStore('a body that fails halfway publishes nothing and keeps the earlier object', async (t, store) => {
    await store.put('k', Readable.from([Buffer.from('earlier')]));
    // Past one 8 MiB part, so S3 has started a multipart upload that must be aborted.
    const failing = randomBody(BIG, { failAfter: 9 * MiB });
    await t.throwsAsync(store.put('k', failing.stream), { message: 'upstream connection reset' });
    t.is(await text(store, 'k'), 'earlier');
    await t.throwsAsync(store.put('fresh', randomBody(BIG, { failAfter: MiB }).stream), { message: 'upstream connection reset' });
    t.is(await store.head('fresh'), null);
  });

  withStore('a body of the wrong size is an IntegrityError and publishes nothing', async (t, store) => {
    await store.put('k', Readable.from([Buffer.from('earlier')]));
    await t.throwsAsync(store.put('k', Readable.from([Buffer.from('12345')]), { size: 6 }), { instanceOf: IntegrityError });
    await t.throwsAsync(store.put('k', Readable.from([Buffer.from('1234567')]), { size: 6 }), { instanceOf: IntegrityError });
    await t.throwsAsync(store.put('new', randomBody(BIG).stream, { size: BIG - 1 }), { instanceOf: IntegrityError });
    await t.throwsAsync(store.put('new', randomBody(BIG).stream, { size: BIG + 1 }), { instanceOf: IntegrityError });
    t.is(await text(store, 'k'), 'earlier');
    t.is(await store.head('new'), null);
  });

  withStore('an aborted put publishes nothing', async (t, store) => {
    const controller = new AbortController();
    const source = randomBody(BIG);
    let seen = 0;
    source.stream.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > 2 * MiB) controller.abort();
    });
    await t.throwsAsync(store.put('aborted', source.stream, { signal: controller.signal }), { name: 'AbortError' });
    t.is(await store.head('aborted'), null);
  });

  withStore('list returns exactly the objects under a prefix', async (t, store) => {
    const keys = ['a/b/2', 'a/b/1', 'a/c', 'a-b', 'ab', 'z/y'];
    for (const key of keys) await store.put(key, Readable.from([Buffer.from(key)]));
    const list = async (prefix: string) => {
      const found: string[] = [];
      for await (const info of store.list(prefix)) {
        t.is(info.size, info.key.length);
        found.push(info.key);
      }
      return found.sort(); // order is not part of the contract (s3rver lists "a/b" before "a-b")
    };
    t.deepEqual(await list(''), ['a-b', 'a/b/1', 'a/b/2', 'a/c', 'ab', 'z/y']);
    t.deepEqual(await list('a/'), ['a/b/1', 'a/b/2', 'a/c']);
    t.deepEqual(await list('a/b'), ['a/b/1', 'a/b/2']);
    t.deepEqual(await list('a'), ['a-b', 'a/b/1', 'a/b/2', 'a/c', 'ab']);
    t.deepEqual(await list('nothing/'), []);
    await t.throwsAsync(list('../'), { instanceOf: InvalidInput });
  });

  withStore('delete removes the object and is idempotent', async (t, store) => {
    await store.put('gone', Readable.from([Buffer.from('x')]));
    await store.delete('gone');
    t.is(await store.head('gone'), null);
    await t.notThrowsAsync(store.delete('gone'));
    await t.notThrowsAsync(store.delete('never/existed'));
  });

  const badKeys = ['../x', '/abs', 'a//b', 'a/./b', 'a/../b', '', 'a/', 'a b', 'a\\b', 'x'.repeat(1025)];
  for (const key of badKeys) {
    withStore(`key ${JSON.stringify(key.length > 20 ? `${key.slice(0, 8)}…(${key.length})` : key)} is rejected`, async (t, store) => {
      await t.throwsAsync(store.put(key, Readable.from([Buffer.from('x')])), { instanceOf: InvalidInput });
      await t.throwsAsync(store.get(key), { instanceOf: InvalidInput });
      await t.throwsAsync(store.head(key), { instanceOf: InvalidInput });
      await t.throwsAsync(store.delete(key), { instanceOf: InvalidInput });
    });
  }

  withStore('check passes on a reachable store', async (t, store) => {
    await t.notThrowsAsync(store.check());
  });
}
