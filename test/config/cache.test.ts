import test from 'ava';
import path from 'node:path';
import { loadConfig } from '../../server/src/config/load.js';
import { loadError, loadText, removeTempDirs, tempDir } from './helpers.js';

test.after.always(removeTempDirs);

test('cache keys are read from the file, with disk_path relative to the file', async (t) => {
  const { config, dir } = await loadText('cache {\n  disk_path = "archives"\n  disk_max_size = "2GiB"\n  memory_max_entries = 500\n  ttl = "1h"\n}\n');
  t.deepEqual(config.cache, { diskPath: path.join(dir, 'archives'), diskMaxSize: 2 * 2 ** 30, memoryMaxEntries: 500, ttl: 3600 });
});

test('cache keys are read from TFM_CACHE_* variables', async (t) => {
  const cwd = tempDir();
  const config = await loadConfig({ env: { TFM_CACHE_DISK_PATH: '/srv/cache', TFM_CACHE_DISK_MAX_SIZE: '500MiB', TFM_CACHE_MEMORY_MAX_ENTRIES: '42', TFM_CACHE_TTL: '15m' }, cwd });
  t.deepEqual(config.cache, { diskPath: '/srv/cache', diskMaxSize: 500 * 2 ** 20, memoryMaxEntries: 42, ttl: 900 });
});

test('disk_max_size = 0 turns the disk cache off and ttl = "" serves until evicted', async (t) => {
  const { config } = await loadText('data_dir = "d"\ncache {\n  disk_max_size = 0\n  ttl = ""\n}\n');
  t.like(config.cache, { diskMaxSize: 0, ttl: 0 });
  t.is(config.cache.diskPath, path.join(config.dataDir, 'cache'));
});

const bad = [
  { name: 'a disk_max_size that is no size', text: 'cache {\n  disk_max_size = "lots"\n}\n', key: 'cache.disk_max_size' },
  { name: 'a negative disk_max_size', text: 'cache {\n  disk_max_size = -1\n}\n', key: 'cache.disk_max_size' },
  { name: 'memory_max_entries of 0', text: 'cache {\n  memory_max_entries = 0\n}\n', key: 'cache.memory_max_entries' },
  { name: 'a ttl that is no duration', text: 'cache {\n  ttl = "soon"\n}\n', key: 'cache.ttl' },
  { name: 'an unknown key in the cache block', text: 'cache {\n  disk_size = "1GiB"\n}\n', key: 'cache.disk_size' },
];
for (const c of bad) {
  test(`config error names the key: ${c.name}`, async (t) => {
    const { err } = await loadError(c.text);
    t.true(err.message.includes(c.key), err.message);
  });
}

test('a bad TFM_CACHE_TTL names the variable', async (t) => {
  const { err } = await loadError(undefined, { TFM_CACHE_TTL: '3 days' });
  t.true(err.message.includes('TFM_CACHE_TTL'), err.message);
});
