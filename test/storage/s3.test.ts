import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3StorageConfig } from '../../server/src/config/types.js';
import { Unavailable } from '../../server/src/errors.js';
import { createObjectStore } from '../../server/src/storage/index.js';
import { S3Store } from '../../server/src/storage/s3.js';
import { startS3rver, type S3rverFixture } from '../fixtures/s3rver.js';
import { storeContract } from './contract.js';

// One server for the file; every test gets its own key prefix, so tests stay independent while running concurrently.
let server: Promise<S3rverFixture> | undefined;
let nextPrefix = 0;

async function config(overrides: Partial<S3StorageConfig> = {}): Promise<S3StorageConfig> {
  server ??= startS3rver();
  const s3 = await server;
  return {
    type: 's3',
    bucket: s3.bucket,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    prefix: `run/t${nextPrefix++}`,
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    presignDownloads: true,
    presignTtl: 300,
    ...overrides,
  };
}

test.after.always(async () => {
  if (server) await (await server).close();
});

storeContract('s3', async () => ({ store: new S3Store(await config()), cleanup: async () => undefined }));

test('s3: a presigned URL downloads the same bytes with a plain fetch', async (t) => {
  const store = new S3Store(await config());
  const bytes = randomBytes(300_000);
  await store.put('hashicorp/null/3.2.2/pkg.zip', Readable.from([bytes]));
  const url = await store.presignGet('hashicorp/null/3.2.2/pkg.zip', 60, { filename: 'terraform-provider-null_3.2.2_linux_amd64.zip' });
  t.truthy(url);
  const response = await fetch(url!);
  t.is(response.status, 200);
  t.is(response.headers.get('content-disposition'), 'attachment; filename="terraform-provider-null_3.2.2_linux_amd64.zip"');
  const got = Buffer.from(await response.arrayBuffer());
  t.is(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(bytes).digest('hex'));
});

test('s3: presignGet returns null when presigned downloads are off', async (t) => {
  const store = new S3Store(await config({ presignDownloads: false }));
  await store.put('k', Readable.from([Buffer.from('x')]));
  t.is(await store.presignGet('k', 60), null);
});

test('s3: objects live under the configured prefix and list strips it', async (t) => {
  const cfg = await config();
  const store = new S3Store(cfg);
  await store.put('a/b', Readable.from([Buffer.from('x')]));
  const raw = await store.client.send(new ListObjectsV2Command({ Bucket: cfg.bucket, Prefix: `${cfg.prefix}/` }));
  t.deepEqual(raw.Contents?.map((o) => o.Key), [`${cfg.prefix}/a/b`]);
  const keys: string[] = [];
  for await (const info of store.list('')) keys.push(info.key);
  t.deepEqual(keys, ['a/b']);
});

test('s3: check fails with Unavailable when the bucket does not exist', async (t) => {
  const store = new S3Store(await config({ bucket: 'no-such-bucket' }));
  await t.throwsAsync(store.check(), { instanceOf: Unavailable });
});

test('s3: check fails with Unavailable when the endpoint is unreachable', async (t) => {
  // Port 9 (discard) on loopback is closed in test environments: the connection is refused at once.
  const store = new S3Store(await config({ endpoint: 'http://127.0.0.1:9' }));
  await t.throwsAsync(store.check(), { instanceOf: Unavailable });
});

test('s3: half-configured static credentials are rejected', async (t) => {
  const cfg = await config({ secretAccessKey: '' });
  t.throws(() => new S3Store(cfg), { message: /access_key_id/ });
});

test('s3: createObjectStore builds an S3 store', async (t) => {
  const store = await createObjectStore(await config());
  t.is(store.kind, 's3');
  await t.notThrowsAsync(store.check());
});

test('s3: concurrent puts of the same bytes to one key all succeed and leave the complete object', async (t) => {
  const store = new S3Store(await config());
  const bytes = randomBytes(189);
  for (let round = 0; round < 10; round++) {
    const key = `evidence/${round}.sig`;
    const results = await Promise.allSettled([0, 1, 2].map(() => store.put(key, Readable.from([bytes]), { size: bytes.length })));
    t.deepEqual(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')), ['ok', 'ok', 'ok'], `round ${round}`);
    const head = await store.head(key);
    t.is(head?.size, bytes.length, `round ${round}: the object is there`);
  }
});

test('s3: a stored object that does not match the upload fails the put as retryable Unavailable, not as bad bytes', async (t) => {
  const cfg = await config();
  const { S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ region: cfg.region, endpoint: cfg.endpoint, forcePathStyle: true, credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } });
  // What a store with non-atomic overwrites shows a HEAD that lands mid-write of a concurrent put.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (context.commandName === 'HeadObjectCommand') (out.output as { ContentLength?: number }).ContentLength = 0;
      return out;
    },
    { step: 'initialize', name: 'midWriteHead' },
  );
  const store = new S3Store(cfg, { client });
  const err = await t.throwsAsync(store.put('k.sig', Readable.from([Buffer.alloc(189, 1)]), { size: 189 }));
  t.true(err instanceof Unavailable, String(err));
  const { isRetryable } = await import('../../server/src/jobs/retryable.js');
  t.true(isRetryable(err));
});
