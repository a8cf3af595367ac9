import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { storeVersionFile } from '../../server/src/loads/evidence.js';
import { FilesystemStore } from '../../server/src/storage/filesystem.js';

async function countingStore(t: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-evidence-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = new FilesystemStore({ path: dir });
  await store.init();
  const stats = { puts: 0, concurrent: 0, peak: 0 };
  const realPut = store.put.bind(store);
  store.put = async (key: string, body: Readable, opts) => {
    stats.puts++;
    stats.peak = Math.max(stats.peak, ++stats.concurrent);
    try {
      return await realPut(key, body, opts);
    } finally {
      stats.concurrent--;
    }
  };
  return { store, stats };
}

const key = 'providers/registry.terraform.io/acme/x/1.0.0/terraform-provider-x_1.0.0_SHA256SUMS';

test('a version file already held with the same bytes is not rewritten by the next platform', async (t) => {
  const { store, stats } = await countingStore(t);
  const sums = Buffer.from('abc  terraform-provider-x_1.0.0_linux_amd64.zip\n');
  await storeVersionFile(store, key, sums);
  await storeVersionFile(store, key, sums);
  t.is(stats.puts, 1);
  await storeVersionFile(store, key, Buffer.from('different bytes\n'));
  t.is(stats.puts, 2, 'other bytes are stored');
});

test('platforms of one version storing its files at once write them one at a time, once', async (t) => {
  const { store, stats } = await countingStore(t);
  const sums = Buffer.from('def  terraform-provider-x_1.0.0_darwin_arm64.zip\n');
  await Promise.all([0, 1, 2, 3].map(() => storeVersionFile(store, key, sums)));
  t.is(stats.peak, 1);
  t.is(stats.puts, 1);
});
