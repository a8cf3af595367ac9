import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { packTree } from '../../server/src/modules/pack.js';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfm-pack-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the packed archive lists entries sorted by path with fixed owners, times and modes', async (t) => {
  const dir = await tempDir(t);
  const tree = path.join(dir, 'tree');
  await fs.mkdir(path.join(tree, 'b-dir', 'inner'), { recursive: true });
  await fs.mkdir(path.join(tree, '.git'));
  await fs.writeFile(path.join(tree, '.git', 'HEAD'), 'ref');
  await fs.writeFile(path.join(tree, 'b-dir', 'inner', 'x.tf'), 'x', { mode: 0o600 });
  await fs.writeFile(path.join(tree, 'a.tf'), 'a');
  await fs.writeFile(path.join(tree, 'b'), 'b');
  await fs.writeFile(path.join(tree, 'run.sh'), '#!/bin/sh\n', { mode: 0o700 });
  const out = path.join(dir, 'out.tar.gz');
  const packed = await packTree(tree, out);
  t.is(packed.files, 4);
  t.is(packed.size, (await fs.stat(out)).size);
  const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvzf', out], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' '));
  t.deepEqual(listing, [
    '-rw-r--r-- 0/0 1 1970-01-01 00:00:00 a.tf',
    '-rw-r--r-- 0/0 1 1970-01-01 00:00:00 b',
    'drwxr-xr-x 0/0 0 1970-01-01 00:00:00 b-dir/',
    'drwxr-xr-x 0/0 0 1970-01-01 00:00:00 b-dir/inner/',
    '-rw-r--r-- 0/0 1 1970-01-01 00:00:00 b-dir/inner/x.tf',
    '-rwxr-xr-x 0/0 10 1970-01-01 00:00:00 run.sh',
  ]);
  const gz = await fs.readFile(out);
  t.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3], 'gzip header: no name, mtime 0, max compression, Unix');
  const tar = gunzipSync(gz);
  t.is(tar.subarray(265, 265 + 32).toString('latin1').replace(/\0+$/, ''), '', 'empty uname');
});

test('long paths round-trip through GNU tar', async (t) => {
  const dir = await tempDir(t);
  const tree = path.join(dir, 'tree');
  const deep = path.join(tree, 'd'.repeat(90), 'e'.repeat(90));
  await fs.mkdir(deep, { recursive: true });
  const long = 'f'.repeat(120);
  await fs.writeFile(path.join(deep, long), 'deep');
  await fs.writeFile(path.join(tree, 'ü-ñ.tf'), 'utf8');
  const out = path.join(dir, 'out.tar.gz');
  await packTree(tree, out);
  const unpacked = path.join(dir, 'unpacked');
  await fs.mkdir(unpacked);
  execFileSync('tar', ['-xzf', out, '-C', unpacked]);
  t.is(await fs.readFile(path.join(unpacked, 'd'.repeat(90), 'e'.repeat(90), long), 'utf8'), 'deep');
  t.is(await fs.readFile(path.join(unpacked, 'ü-ñ.tf'), 'utf8'), 'utf8');
});

test('an existing output file is never overwritten', async (t) => {
  const dir = await tempDir(t);
  await fs.mkdir(path.join(dir, 'tree'));
  await fs.writeFile(path.join(dir, 'out.tar.gz'), 'keep');
  await t.throwsAsync(packTree(path.join(dir, 'tree'), path.join(dir, 'out.tar.gz')), { code: 'EEXIST' });
  t.is(await fs.readFile(path.join(dir, 'out.tar.gz'), 'utf8'), 'keep');
});
