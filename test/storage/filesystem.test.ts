import test from 'ava';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { InvalidInput, Unavailable } from '../../server/src/errors.js';
import { FilesystemStore } from '../../server/src/storage/filesystem.js';
import { createObjectStore } from '../../server/src/storage/index.js';
import { BIG, randomBody } from './contract.js';
import { storeContract } from './contract.js';

async function tempRoot(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'tfm-fs-store-'));
}

async function freshStore() {
  const dir = await tempRoot();
  const store = new FilesystemStore({ path: path.join(dir, 'storage') });
  await store.init();
  return { store, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

storeContract('filesystem', freshStore);

test('filesystem: no temp files remain after a successful or failed put', async (t) => {
  const { store, cleanup } = await freshStore();
  try {
    const tmp = path.join(store.root, '.tmp');
    await store.put('ok', randomBody(BIG).stream);
    await t.throwsAsync(store.put('failed', randomBody(BIG, { failAfter: 3 * 1024 * 1024 }).stream));
    await t.throwsAsync(store.put('short', Readable.from([Buffer.from('abc')]), { size: 4 }));
    const controller = new AbortController();
    controller.abort();
    await t.throwsAsync(store.put('aborted', randomBody(10).stream, { signal: controller.signal }));
    t.deepEqual(await readdir(tmp), []);
  } finally {
    await cleanup();
  }
});

test('filesystem: init sweeps temp files older than an hour and keeps younger ones', async (t) => {
  const dir = await tempRoot();
  try {
    const root = path.join(dir, 'storage');
    await new FilesystemStore({ path: root }).init();
    const stale = path.join(root, '.tmp', 'stale.part');
    const live = path.join(root, '.tmp', 'live.part');
    await writeFile(stale, 'x');
    await writeFile(live, 'y');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    await new FilesystemStore({ path: root }).init();
    t.deepEqual(await readdir(path.join(root, '.tmp')), ['live.part']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('filesystem: keys cannot reach the temp area and list never shows it', async (t) => {
  const { store, cleanup } = await freshStore();
  try {
    await writeFile(path.join(store.root, '.tmp', 'x'), 'partial');
    await t.throwsAsync(store.get('.tmp/x'), { instanceOf: InvalidInput });
    await t.throwsAsync(store.put('.tmp/y', Readable.from([Buffer.from('y')])), { instanceOf: InvalidInput });
    const keys: string[] = [];
    for await (const info of store.list('')) keys.push(info.key);
    t.deepEqual(keys, []);
  } finally {
    await cleanup();
  }
});

test('filesystem: presignGet returns null', async (t) => {
  const { store, cleanup } = await freshStore();
  try {
    await store.put('k', Readable.from([Buffer.from('x')]));
    t.is(await store.presignGet('k', 60, { filename: 'k.zip' }), null);
  } finally {
    await cleanup();
  }
});

test('filesystem: check fails with Unavailable when the root is gone', async (t) => {
  const { store, dir, cleanup } = await freshStore();
  try {
    await rm(dir, { recursive: true, force: true });
    await t.throwsAsync(store.check(), { instanceOf: Unavailable });
  } finally {
    await cleanup();
  }
});

test('filesystem: createObjectStore prepares the root', async (t) => {
  const dir = await tempRoot();
  try {
    const store = await createObjectStore({ type: 'filesystem', path: path.join(dir, 'a', 'b') });
    t.is(store.kind, 'filesystem');
    await t.notThrowsAsync(store.check());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('filesystem: temp files of a killed put are swept at once; another host’s and live ones are kept until stale', async (t) => {
  const { createHash } = await import('node:crypto');
  const os = await import('node:os');
  const { spawn } = await import('node:child_process');
  const dir = await mkdtemp(path.join(tmpdir(), 'tfm-fs-incomplete-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = new FilesystemStore({ path: dir });
  await store.init();
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  const host = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);
  const tmp = path.join(dir, '.tmp');
  const names = {
    killed: `${host}-${child.pid}-dead.part`,
    earlierSelf: `${host}-${process.pid}-restarted.part`,
    otherHost: `00000000-${child.pid}-elsewhere.part`,
    live: `${host}-${process.ppid}-running.part`,
  };
  for (const name of Object.values(names)) await writeFile(path.join(tmp, name), 'partial');
  t.is(await store.sweepIncomplete(), 2);
  t.deepEqual((await readdir(tmp)).sort(), [names.otherHost, names.live].sort());
  t.is(await store.sweepIncomplete(Date.now() + 2 * 60 * 60 * 1000), 2, 'stale ones go whoever wrote them');
});
