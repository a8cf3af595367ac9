import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { InvalidInput, LimitExceeded } from '../../server/src/errors.js';
import { extractArchive } from '../../server/src/modules/extract.js';
import type { ModuleLimits } from '../../server/src/modules/ports.js';
import { checkTree, resolveSubdir } from '../../server/src/modules/tree.js';
import { tarGz, zipBytes } from '../fixtures/module-archives.js';

const limits: ModuleLimits = { maxDownloadBytes: 1 << 20, maxTreeBytes: 1 << 20, maxEntries: 100 };

async function unpack(bytes: Buffer, format: 'tar.gz' | 'zip', l = limits): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfm-extract-'));
  const file = path.join(dir, 'archive');
  await fs.writeFile(file, bytes);
  const tree = path.join(dir, 'tree');
  await fs.mkdir(tree);
  try {
    await extractArchive(file, format, tree, l);
    await checkTree(tree, l);
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
  return tree;
}

async function listing(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await fs.readdir(path.join(root, rel))).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = await fs.lstat(path.join(root, r));
      if (st.isDirectory()) {
        out[`${r}/`] = 'dir';
        await walk(r);
      } else if (st.isFile()) {
        out[r] = `${(st.mode & 0o777).toString(8)} ${await fs.readFile(path.join(root, r), 'utf8')}`;
      } else {
        out[r] = 'other';
      }
    }
  };
  await walk('');
  return out;
}

const cleanup: string[] = [];
test.after.always(async () => {
  await Promise.all(cleanup.map((d) => fs.rm(path.dirname(d), { recursive: true, force: true })));
});

test('a tar.gz unpacks to its files and directories, implied parents created, the exec bit kept', async (t) => {
  const tree = await unpack(
    tarGz([
      { name: './', type: 'directory' },
      { name: 'main.tf', content: 'resource "null" "x" {}\n', mode: 0o664 },
      { name: 'scripts/run.sh', content: '#!/bin/sh\n', mode: 0o775 },
      { name: 'modules/sub/', type: 'directory' },
      { name: 'modules/sub/main.tf', content: 'sub' },
    ]),
    'tar.gz',
  );
  cleanup.push(tree);
  t.deepEqual(await listing(tree), {
    'main.tf': '644 resource "null" "x" {}\n',
    'modules/': 'dir',
    'modules/sub/': 'dir',
    'modules/sub/main.tf': '644 sub',
    'scripts/': 'dir',
    'scripts/run.sh': '755 #!/bin/sh\n',
  });
});

test('a symlink to a file inside the tree becomes a copy of that file', async (t) => {
  const tree = await unpack(
    tarGz([
      { name: 'link.tf', type: 'symlink', linkname: 'shared/real.tf' },
      { name: 'shared/real.tf', content: 'real', mode: 0o755 },
      { name: 'sub/up.tf', type: 'symlink', linkname: '../shared/real.tf' },
    ]),
    'tar.gz',
  );
  cleanup.push(tree);
  t.deepEqual(await listing(tree), {
    'link.tf': '755 real',
    'shared/': 'dir',
    'shared/real.tf': '755 real',
    'sub/': 'dir',
    'sub/up.tf': '755 real',
  });
});

test('a zip unpacks with its directories, exec bits and links to files', async (t) => {
  const tree = await unpack(
    await zipBytes([
      { name: 'net-1.0/', content: '' },
      { name: 'net-1.0/main.tf', content: 'main' },
      { name: 'net-1.0/bin/tool', content: 'tool', mode: 0o100755 },
      { name: 'net-1.0/alias.tf', content: 'main.tf', mode: 0o120777 },
    ]),
    'zip',
  );
  cleanup.push(tree);
  t.deepEqual(await listing(tree), {
    'net-1.0/': 'dir',
    'net-1.0/alias.tf': '644 main',
    'net-1.0/bin/': 'dir',
    'net-1.0/bin/tool': '755 tool',
    'net-1.0/main.tf': '644 main',
  });
  t.is(await resolveSubdir(tree, '*', 'archive x'), 'net-1.0');
  t.is(await resolveSubdir(tree, '*/bin', 'archive x'), 'net-1.0/bin');
});

test('//* is refused when the tree has more than one top-level entry, and a missing subdirectory is named', async (t) => {
  const tree = await unpack(tarGz([{ name: 'a/x', content: '' }, { name: 'b', content: '' }]), 'tar.gz');
  cleanup.push(tree);
  await t.throwsAsync(resolveSubdir(tree, '*', 'archive https://h/x.tgz'), {
    instanceOf: InvalidInput,
    message: /archive https:\/\/h\/x\.tgz asks for \/\/\* .* 2 top-level entries/,
  });
  await t.throwsAsync(resolveSubdir(tree, 'a/missing', 'archive https://h/x.tgz'), {
    instanceOf: InvalidInput,
    message: 'subdirectory "a/missing" not found in archive https://h/x.tgz',
  });
  await t.throwsAsync(resolveSubdir(tree, 'b', 'archive https://h/x.tgz'), { message: /subdirectory "b" not found/ });
});

test('a file that also appears as a directory is refused', async (t) => {
  await t.throwsAsync(unpack(tarGz([{ name: 'a', content: 'x' }, { name: 'a/b', content: 'y' }]), 'tar.gz'), {
    instanceOf: InvalidInput,
    message: /entry "a\/b" is below "a", which is a file/,
  });
});

test('an entry below a symlink is refused, so nothing is written through a link', async (t) => {
  await t.throwsAsync(
    unpack(tarGz([{ name: 'd', type: 'symlink', linkname: 'real' }, { name: 'real/', type: 'directory' }, { name: 'd/x', content: 'y' }]), 'tar.gz'),
    { instanceOf: InvalidInput, message: /entry "d\/x" is below "d", which is a link/ },
  );
});

test('the tree size counts every file and stops at the limit', async (t) => {
  const l = { ...limits, maxTreeBytes: 1000 };
  await t.throwsAsync(
    unpack(tarGz([{ name: 'a', content: 'x'.repeat(600) }, { name: 'b', content: 'x'.repeat(600) }]), 'tar.gz', l),
    { instanceOf: LimitExceeded, message: /more than 1000 bytes of files \(limits\.module_max_tree_bytes; reached at "b"\)/ },
  );
  await t.throwsAsync(unpack(await zipBytes([{ name: 'a', content: 'x'.repeat(1001) }]), 'zip', l), {
    instanceOf: LimitExceeded,
    message: /declares more than 1000 bytes/,
  });
});

test('links materialized as copies count against the tree size too', async (t) => {
  const l = { ...limits, maxTreeBytes: 1000 };
  await t.throwsAsync(
    unpack(tarGz([{ name: 'a', content: 'x'.repeat(600) }, { name: 'b', type: 'symlink', linkname: 'a' }]), 'tar.gz', l),
    { instanceOf: LimitExceeded, message: /module tree holds more than 1000 bytes/ },
  );
});

test('a download larger than the download limit is refused before it is read', async (t) => {
  await t.throwsAsync(unpack(tarGz([{ name: 'a', content: 'x' }]), 'tar.gz', { ...limits, maxDownloadBytes: 10 }), {
    instanceOf: LimitExceeded,
    message: /module archive is \d+ bytes, more than the limit of 10/,
  });
});

test('a truncated or corrupt archive is an integrity error, not a crash', async (t) => {
  const good = tarGz([{ name: 'a', content: 'x'.repeat(5000) }]);
  await t.throwsAsync(unpack(good.subarray(0, good.length - 20), 'tar.gz'), { message: /not a valid tar\.gz archive/ });
  await t.throwsAsync(unpack(Buffer.from('not a zip at all'), 'zip'), { message: /not a valid zip archive/ });
});

test('a tarball from git archive (a pax global header, as GitHub serves them) unpacks under its prefix', async (t) => {
  const repo = await fs.mkdtemp(path.join(os.tmpdir(), 'tfm-extract-repo-'));
  t.teardown(() => fs.rm(repo, { recursive: true, force: true }));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', '-c', 'init.defaultBranch=main', ...args], { cwd: repo });
  git('init', '-q');
  await fs.mkdir(path.join(repo, 'modules', 'sub'), { recursive: true });
  await fs.writeFile(path.join(repo, 'main.tf'), 'root');
  await fs.writeFile(path.join(repo, 'modules', 'sub', 'main.tf'), 'sub');
  git('add', '.');
  git('commit', '-q', '-m', 'x');
  const tree = await unpack(git('archive', '--format=tar.gz', '--prefix=acme-net-0123abc/', 'HEAD'), 'tar.gz');
  cleanup.push(tree);
  t.deepEqual(Object.keys(await listing(tree)), [
    'acme-net-0123abc/',
    'acme-net-0123abc/main.tf',
    'acme-net-0123abc/modules/',
    'acme-net-0123abc/modules/sub/',
    'acme-net-0123abc/modules/sub/main.tf',
  ]);
  t.is(await resolveSubdir(tree, '*/modules/sub', 'archive x'), 'acme-net-0123abc/modules/sub');
  await t.throwsAsync(resolveSubdir(tree, '*/.git', 'archive x'), { message: /inside \.git/ });
});
