import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { IntegrityError, InvalidInput, LimitExceeded } from '../../server/src/errors.js';
import { extractArchive } from '../../server/src/modules/extract.js';
import { createModuleFetcher } from '../../server/src/modules/fetch.js';
import type { GitClient, ModuleLimits } from '../../server/src/modules/ports.js';
import { parseLocation } from '../../server/src/modules/source.js';
import { upstreamHttpClient } from '../../server/src/upstream/upstream-http.js';
import { type TarSpec, declaredSizeBomb, gzipBomb, tarGz, zipBytes } from '../fixtures/module-archives.js';
import { type StaticServer, startStaticServer } from '../fixtures/static-server.js';
import { writeBombZip, writeManyEntriesZip, writeRawZip } from '../fixtures/zips.js';

// The default entry limit; trees and downloads small enough that a bomb shows quickly.
const limits: ModuleLimits = { maxDownloadBytes: 16 << 20, maxTreeBytes: 1 << 20, maxEntries: 5000 };
const noGit: GitClient = {
  checkout: () => Promise.reject(new Error('no git here')),
  lsRemote: () => Promise.reject(new Error('no git here')),
};

let root: string;
let www: string;
let server: StaticServer;

test.before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tfm-hostile-'));
  www = path.join(root, 'www');
  await fs.mkdir(www);
  server = await startStaticServer(www);
});

test.after.always(async () => {
  await server?.close();
  await fs.rm(root, { recursive: true, force: true });
});

interface Case {
  name: string;
  file: string;
  build: (file: string) => Promise<void>;
  error: typeof InvalidInput | typeof LimitExceeded | typeof IntegrityError;
  message: RegExp;
}

const tar = (entries: TarSpec[]) => (file: string) => fs.writeFile(file, tarGz(entries));
const ok: TarSpec = { name: 'main.tf', content: 'ok' };
const many = (n: number): TarSpec[] => Array.from({ length: n }, (_, i) => ({ name: `f/${i}.tf`, content: '' }));

const cases: Case[] = [
  { name: 'a ../ path in a tar', file: 'up.tgz', build: tar([ok, { name: '../x', content: 'escaped' }]), error: InvalidInput, message: /entry "\.\.\/x" has a "\.\." segment/ },
  { name: 'a .. segment inside a path', file: 'mid.tgz', build: tar([{ name: 'a/../../x', content: 'x' }]), error: InvalidInput, message: /"\.\." segment/ },
  { name: 'an absolute path', file: 'abs.tgz', build: tar([{ name: '/etc/x', content: 'x' }]), error: InvalidInput, message: /entry "\/etc\/x" is an absolute path/ },
  { name: 'a backslash path', file: 'bs.tgz', build: tar([{ name: '..\\x', content: 'x' }]), error: InvalidInput, message: /backslash/ },
  { name: 'a path longer than 1024 bytes', file: 'long.tgz', build: tar([{ name: `${'d/'.repeat(600)}x.tf`, content: 'x' }]), error: InvalidInput, message: /is longer than 1024 bytes/ },
  { name: 'a name longer than 255 bytes', file: 'longname.tgz', build: tar([{ name: `a/${'n'.repeat(256)}`, content: 'x' }]), error: InvalidInput, message: /has a name over 255/ },
  { name: 'a ../ path in a zip', file: 'up.zip', build: (f) => writeRawZip(f, [{ name: 'ok.tf', content: 'ok' }, { name: '../evil', content: 'x' }]), error: InvalidInput, message: /entry "\.\.\/evil" has a "\.\." segment/ },
  { name: 'a NUL in a zip name', file: 'nul.zip', build: (f) => writeRawZip(f, [{ name: 'a\0.tf', content: 'x' }]), error: InvalidInput, message: /control character/ },
  { name: 'a symlink out of the tree', file: 'link-out.tgz', build: tar([ok, { name: 'sub/passwd', type: 'symlink', linkname: '../../etc/passwd' }]), error: InvalidInput, message: /symbolic link "sub\/passwd" points outside the tree/ },
  { name: 'a symlink to an absolute path', file: 'link-abs.tgz', build: tar([{ name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }]), error: InvalidInput, message: /points outside the tree \(to the absolute path "\/etc\/passwd"\)/ },
  { name: 'a symlink out of the tree in a zip', file: 'link-out.zip', build: async (f) => fs.writeFile(f, await zipBytes([{ name: 'x', content: '../../x', mode: 0o120777 }])), error: InvalidInput, message: /symbolic link "x" points outside the tree/ },
  { name: 'a symlink to a directory', file: 'link-dir.tgz', build: tar([{ name: 'd/a.tf', content: 'a' }, { name: 'e', type: 'symlink', linkname: 'd' }]), error: InvalidInput, message: /symbolic link "e" points to the directory "d"/ },
  { name: 'a dangling symlink', file: 'link-none.tgz', build: tar([{ name: 'e', type: 'symlink', linkname: 'nothing' }]), error: InvalidInput, message: /symbolic link "e" points to "nothing", which is not in the tree/ },
  { name: 'a symlink loop', file: 'link-loop.tgz', build: tar([{ name: 'a', type: 'symlink', linkname: 'b' }, { name: 'b', type: 'symlink', linkname: 'a' }]), error: InvalidInput, message: /more than 16 links/ },
  { name: 'a hard link', file: 'hard.tgz', build: tar([ok, { name: 'h', type: 'hardlink', linkname: 'main.tf' }]), error: InvalidInput, message: /entry "h" is a hard link/ },
  { name: 'a character device', file: 'chr.tgz', build: tar([{ name: 'null', type: 'char' }]), error: InvalidInput, message: /entry "null" is a character device/ },
  { name: 'a block device', file: 'blk.tgz', build: tar([{ name: 'sda', type: 'block' }]), error: InvalidInput, message: /entry "sda" is a block device/ },
  { name: 'a fifo', file: 'fifo.tgz', build: tar([{ name: 'pipe', type: 'fifo' }]), error: InvalidInput, message: /entry "pipe" is a fifo/ },
  { name: 'a device in a zip', file: 'chr.zip', build: async (f) => fs.writeFile(f, await zipBytes([{ name: 'null', content: '', mode: 0o020666 }])), error: InvalidInput, message: /entry "null" is a device/ },
  { name: 'a duplicate path', file: 'dup.tgz', build: tar([ok, { name: './main.tf', content: 'other' }]), error: InvalidInput, message: /entry "\.\/main\.tf" appears twice/ },
  { name: '10,000 entries in a tar', file: 'many.tgz', build: tar(many(10_000)), error: LimitExceeded, message: /more than 5000 entries/ },
  { name: '10,000 entries in a zip', file: 'many.zip', build: (f) => writeManyEntriesZip(f, 10_000), error: LimitExceeded, message: /has 10000 entries, more than the limit of 5000/ },
  { name: 'a gzip bomb past the end of the tar', file: 'bomb.tgz', build: (f) => fs.writeFile(f, gzipBomb([ok], 5 * 1024)), error: LimitExceeded, message: /inflates to more than/ },
  { name: 'a tar entry declaring 1 GiB', file: 'declared.tgz', build: (f) => fs.writeFile(f, declaredSizeBomb(1024)), error: LimitExceeded, message: /declares more than 1048576 bytes of files \(limits\.module_max_tree_bytes; reached at "zeros\.bin"\)/ },
  { name: 'a zip bomb', file: 'bomb.zip', build: (f) => writeBombZip(f, 50), error: LimitExceeded, message: /declares more than 1048576 bytes/ },
  { name: 'a zip entry inflating past its declared size', file: 'liar.zip', build: (f) => writeRawZip(f, [{ name: 'a', content: Buffer.alloc(100_000), declaredUncompressedSize: 10 }]), error: IntegrityError, message: /not a valid zip archive: entry "a": too many bytes in the stream\. expected 10/ },
];

for (const c of cases) {
  test(`${c.name} is refused with the reason and nothing stays in staging`, async (t) => {
    await c.build(path.join(www, c.file));
    const stagingDir = await fs.mkdtemp(path.join(root, 'staging-'));
    const fetcher = createModuleFetcher({ limits, stagingDir, http: upstreamHttpClient({ ca: server.caPem }, server.url), git: noGit });
    const location = parseLocation(new URL(c.file, server.url).toString(), server.url, { allowHttp: false });
    const err = await t.throwsAsync(fetcher.fetch(location));
    t.true(err instanceof c.error, `${err?.name}: ${err?.message}`);
    t.regex(err!.message, c.message);
    t.deepEqual(await fs.readdir(stagingDir), []);
  });
}

for (const [name, build] of [
  ['zeros after the end of the tar', (f: string) => fs.writeFile(f, gzipBomb([ok], 5 * 1024))],
  ['a file declaring 5 GiB', (f: string) => fs.writeFile(f, declaredSizeBomb(5 * 1024))],
] as const) {
  test(`a gzip bomb (${name}) stops after reading a small part of the archive`, async (t) => {
    const dir = await fs.mkdtemp(path.join(root, 'bomb-'));
    const file = path.join(dir, 'bomb.tgz');
    await build(file);
    const { size } = await fs.stat(file);
    let read = 0;
    await fs.mkdir(path.join(dir, 'tree'));
    const started = Date.now();
    await t.throwsAsync(extractArchive(file, 'tar.gz', path.join(dir, 'tree'), limits, { onRead: (n) => (read = n) }), { instanceOf: LimitExceeded });
    t.true(size > 5_000_000, `the bomb is ${size} bytes`);
    t.true(read < 512 * 1024, `read ${read} of ${size} bytes`);
    t.true(Date.now() - started < 5000);
    await fs.rm(dir, { recursive: true, force: true });
  });
}

const schemes: [string, RegExp][] = [
  ['s3::https://s3-eu-west-1.amazonaws.com/bucket/net.zip', /uses s3/],
  ['gcs::https://www.googleapis.com/storage/v1/bucket/net.zip', /uses gcs/],
  ['hg::https://example.com/repo', /uses hg/],
  ['git::ssh://git@example.com/net.git', /uses ssh/],
  ['git@github.com:acme/net.git', /uses ssh/],
  ['file::./modules/net', /uses file/],
  ['./modules/net', /names no archive/],
];

for (const [raw, message] of schemes) {
  test(`the location ${raw} is refused naming its scheme before anything is fetched`, (t) => {
    const err = t.throws(() => parseLocation(raw, server.url, { allowHttp: false }), { instanceOf: InvalidInput });
    t.regex(err!.message, message);
    // The location is named (with any userinfo masked).
    t.true(err!.message.startsWith(`module location ${JSON.stringify(raw.replace('git@example.com', '***@example.com'))}`), err!.message);
  });
}
