import { createHash } from 'node:crypto';
import test from 'ava';
import { startS3rver } from '../fixtures/s3rver.js';
import { rawRequest, startMirror } from '../fixtures/mirror-server.js';

const providers = [{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }];

async function mirrorOnS3(presign: boolean) {
  const s3 = await startS3rver();
  const m = await startMirror(providers, {
    TFM_STORAGE_TYPE: 's3',
    TFM_STORAGE_BUCKET: s3.bucket,
    TFM_STORAGE_ENDPOINT: s3.endpoint,
    TFM_STORAGE_FORCE_PATH_STYLE: 'true',
    TFM_STORAGE_ACCESS_KEY_ID: s3.accessKeyId,
    TFM_STORAGE_SECRET_ACCESS_KEY: s3.secretAccessKey,
    TFM_STORAGE_PREFIX: 'mirror',
    TFM_STORAGE_PRESIGN_DOWNLOADS: String(presign),
  });
  return { m, close: async () => (await m.close(), await s3.close()) };
}

test('with S3 and presigning, archives redirect to a presigned URL that serves the bytes', async (t) => {
  const { m, close } = await mirrorOnS3(true);
  t.teardown(close);
  const a = m.archives[0]!;
  const res = await rawRequest(m.serving.url, `/registry.terraform.io/hashicorp/null/${a.filename}`);
  t.is(res.status, 302);
  const location = res.headers.location!;
  t.regex(location, /X-Amz-Signature=/);
  const download = await fetch(location);
  t.is(download.status, 200);
  t.is(createHash('sha256').update(Buffer.from(await download.arrayBuffer())).digest('hex'), a.sha256);
});

test('with S3 and presigning off, archives stream through the server with Range support', async (t) => {
  const { m, close } = await mirrorOnS3(false);
  t.teardown(close);
  const a = m.archives[0]!;
  const res = await rawRequest(m.serving.url, `/registry.terraform.io/hashicorp/null/${a.filename}`);
  t.is(res.status, 200);
  t.is(createHash('sha256').update(res.body).digest('hex'), a.sha256);
  const part = await rawRequest(m.serving.url, `/registry.terraform.io/hashicorp/null/${a.filename}`, { headers: { Range: 'bytes=4-11' } });
  t.is(part.status, 206);
  t.deepEqual(part.body, res.body.subarray(4, 12));
});
