/**
 * s3rver that can be stopped and started again on the same port with the same
 * data: an S3 outage the mirror must ride out (the shared fixture removes its
 * data on close).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import type { S3rverFixture } from '../fixtures/s3rver.js';

export interface RestartableS3 extends S3rverFixture {
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startRestartableS3rver(bucket = 'mirror'): Promise<RestartableS3> {
  const directory = await mkdtemp(path.join(tmpdir(), 'tfm-s3-outage-'));
  let port = 0;
  let server: S3rver | undefined;
  const start = async () => {
    const s = new S3rver({ address: '127.0.0.1', port, silent: true, directory, configureBuckets: [{ name: bucket }] });
    port = (await s.run()).port;
    server = s;
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    start,
    async stop() {
      await server?.close();
      server = undefined;
    },
    async close() {
      await server?.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
