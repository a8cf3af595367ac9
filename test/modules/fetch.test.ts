import { createHash } from 'node:crypto';
import dns from 'node:dns';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { LookupFunction } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { IntegrityError, InvalidInput, LimitExceeded, NotFound } from '../../server/src/errors.js';
import { createModuleFetcher } from '../../server/src/modules/fetch.js';
import { createGitClient } from '../../server/src/modules/git.js';
import type { GitClient, ModuleLimits } from '../../server/src/modules/ports.js';
import { parseLocation } from '../../server/src/modules/source.js';
import { ensureSelfSignedTls } from '../../server/src/http/self-signed.js';
import { UpstreamRefused } from '../../server/src/upstream/errors.js';
import { forbiddenRange } from '../../server/src/upstream/reach.js';
import { upstreamHttpClient } from '../../server/src/upstream/upstream-http.js';
import { type GitServer, startGitServer } from '../fixtures/git-server.js';
import { readTarGz, tarGz, zipBytes } from '../fixtures/module-archives.js';
import { type StaticServer, startStaticServer } from '../fixtures/static-server.js';

const limits: ModuleLimits = { maxDownloadBytes: 1 << 20, maxTreeBytes: 1 << 20, maxEntries: 200 };

let root: string;
let files: StaticServer;
let git: GitServer;
let gitClient: GitClient;

test.before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tfm-fetch-'));
  await fs.mkdir(path.join(root, 'www'));
  const www = (name: string, bytes: Buffer) => fs.writeFile(path.join(root, 'www', name), bytes);
  await www(
    'net-1.2.0.tar.gz',
    tarGz([
      { name: 'main.tf', content: 'module "sub" { source = "./modules/sub" }\n' },
      { name: 'modules/sub/main.tf', content: 'output "x" { value = 1 }\n' },
      { name: 'modules/sub/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
    ]),
  );
  await www('tarball-v1', tarGz([{ name: 'acme-net-0123abc/', type: 'directory' }, { name: 'acme-net-0123abc/main.tf', content: 'top' }]));
  await www('net.zip', await zipBytes([{ name: 'main.tf', content: 'zip' }, { name: 'sub/a.tf', content: 'a' }]));
  await www('refused.zip', await zipBytes([{ name: 'main.tf', content: 'never fetched' }]));
  await www('redirected.zip', await zipBytes([{ name: 'main.tf', content: 'never fetched either' }]));
  await www('big.tgz', Buffer.alloc(limits.maxDownloadBytes + 1));
  files = await startStaticServer(path.join(root, 'www'));
  git = await startGitServer();
  gitClient = createGitClient({ reach: { requireHttps: true, allowPrivate: true }, extraCaFile: git.caFile, tempDir: root });
  await git.createRepo('net', {
    'main.tf': 'root',
    'modules/sub/main.tf': 'sub at v1.2.0',
    'modules/sub/alias.tf': { symlink: 'main.tf' },
    'bin/tool': { content: '#!/bin/sh\n', executable: true },
  });
  await git.tag('net', 'v1.2.0');
  await git.createRepo('escape', { 'main.tf': 'x', 'passwd': { symlink: '../../../../etc/passwd' } });
  await git.tag('escape', 'v1');
  await git.createRepo('dirlink', { 'shared/a.tf': 'a', 'modules/shared': { symlink: '../shared' } });
  await git.tag('dirlink', 'v1');
  await git.createRepo('wide', Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}.tf`, `${i}`])));
  await git.tag('wide', 'v1');
});

test.after.always(async () => {
  await files?.close();
  await git?.close();
  await fs.rm(root, { recursive: true, force: true });
});

async function staging(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(root, 'staging-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

function fetcherFor(stagingDir: string, l = limits) {
  return createModuleFetcher({ limits: l, stagingDir, http: upstreamHttpClient({ ca: files.caPem }, files.url), git: gitClient });
}

const at = (p: string) => new URL(p, files.url).toString();

test('an https tar.gz with //subdir is fetched, packed normalized and only the packed file stays in staging', async (t) => {
  const dir = await staging(t);
  const progress: number[] = [];
  const location = parseLocation(`${at('net-1.2.0.tar.gz')}//modules/sub`, files.url, { allowHttp: false });
  const fetched = await fetcherFor(dir).fetch(location, { onProgress: (n) => progress.push(n) });
  t.is(fetched.subdir, 'modules/sub');
  t.is(fetched.files, 3);
  t.is(fetched.commit, undefined);
  t.is(fetched.location, location);
  t.deepEqual(await fs.readdir(dir), [path.basename(fetched.file)]);
  const bytes = await fs.readFile(fetched.file);
  t.is(fetched.size, bytes.length);
  t.is(fetched.sha256, createHash('sha256').update(bytes).digest('hex'));
  t.is(progress.at(-1), (await fs.stat(path.join(root, 'www', 'net-1.2.0.tar.gz'))).size);
  t.deepEqual(await readTarGz(fetched.file), {
    'main.tf': '644 module "sub" { source = "./modules/sub" }\n',
    'modules/': 'dir',
    'modules/sub/': 'dir',
    'modules/sub/main.tf': '644 output "x" { value = 1 }\n',
    'modules/sub/run.sh': '755 #!/bin/sh\n',
  });
});

test('an archive pinned with ?checksum= is fetched when it matches and refused when it does not', async (t) => {
  const dir = await staging(t);
  const bytes = await fs.readFile(path.join(root, 'www', 'net.zip'));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const fetched = await fetcherFor(dir).fetch(parseLocation(`${at('net.zip')}?checksum=sha256:${sha256}`, files.url, { allowHttp: false }));
  t.is(fetched.files, 2);
  const wrong = parseLocation(`${at('net.zip')}?checksum=sha1:${'0'.repeat(40)}`, files.url, { allowHttp: false });
  await t.throwsAsync(fetcherFor(dir).fetch(wrong), {
    instanceOf: IntegrityError,
    message: `module archive ${at('net.zip')} does not match its sha1 checksum`,
  });
  t.deepEqual(await fs.readdir(dir), [path.basename(fetched.file)]);
});

test('a GitHub-style tarball named with //*?archive=tar.gz hands out the top-level directory by name', async (t) => {
  const dir = await staging(t);
  const fetched = await fetcherFor(dir).fetch(parseLocation(`${at('tarball-v1')}//*?archive=tar.gz`, files.url, { allowHttp: false }));
  t.is(fetched.subdir, 'acme-net-0123abc');
  t.deepEqual(Object.keys(await readTarGz(fetched.file)), ['acme-net-0123abc/', 'acme-net-0123abc/main.tf']);
});

test('a zip archive is repacked as a tar.gz', async (t) => {
  const dir = await staging(t);
  const fetched = await fetcherFor(dir).fetch(parseLocation(at('net.zip'), files.url, { allowHttp: false }));
  t.deepEqual(await readTarGz(fetched.file), { 'main.tf': '644 zip', 'sub/': 'dir', 'sub/a.tf': '644 a' });
});

test('a subdirectory the archive does not have is refused by name and nothing stays in staging', async (t) => {
  const dir = await staging(t);
  await t.throwsAsync(fetcherFor(dir).fetch(parseLocation(`${at('net.zip')}//nope/x`, files.url, { allowHttp: false })), {
    instanceOf: InvalidInput,
    message: `subdirectory "nope/x" not found in archive ${at('net.zip')}`,
  });
  t.deepEqual(await fs.readdir(dir), []);
});

test('an archive the upstream does not have is NotFound', async (t) => {
  const dir = await staging(t);
  await t.throwsAsync(fetcherFor(dir).fetch(parseLocation(at('missing.tgz'), files.url, { allowHttp: false })), { instanceOf: NotFound });
  t.deepEqual(await fs.readdir(dir), []);
});

test('a download above the download limit is refused naming the config key', async (t) => {
  const dir = await staging(t);
  await t.throwsAsync(fetcherFor(dir).fetch(parseLocation(at('big.tgz'), files.url, { allowHttp: false })), {
    instanceOf: LimitExceeded,
    message: /is larger than the limit of 1048576 bytes \(limits\.module_max_download_bytes\)/,
  });
  t.deepEqual(await fs.readdir(dir), []);
});

test('an archive on a loopback address is refused when the upstream that named it is not on one', async (t) => {
  const dir = await staging(t);
  // The upstream's base resolves to a public address; the archive it hands out points at loopback.
  const lookup = ((host: string, options: dns.LookupOptions, cb: (...args: unknown[]) => void) => {
    if (host === 'registry.example.com') {
      if (options.all) cb(null, [{ address: '203.0.113.7', family: 4 }]);
      else cb(null, '203.0.113.7', 4);
      return;
    }
    dns.lookup(host, options, cb as never);
  }) as unknown as LookupFunction;
  const fetcher = createModuleFetcher({
    limits,
    stagingDir: dir,
    http: (upstream) => {
      t.is(upstream, 'registry.example.com');
      return upstreamHttpClient({ ca: files.caPem, lookup, maxAttempts: 1 }, 'https://registry.example.com/');
    },
    git: gitClient,
  });
  await t.throwsAsync(fetcher.fetch(parseLocation(at('refused.zip'), files.url, { allowHttp: false }), { upstream: 'registry.example.com' }), {
    instanceOf: UpstreamRefused,
    message: /loopback/,
  });
  t.is(files.requests('/refused.zip'), 0, 'refused before any request');
  t.deepEqual(await fs.readdir(dir), []);
});

test('an aborted fetch rejects and leaves staging empty', async (t) => {
  const dir = await staging(t);
  const controller = new AbortController();
  const fetching = fetcherFor(dir).fetch(parseLocation(at('net-1.2.0.tar.gz'), files.url, { allowHttp: false }), {
    signal: controller.signal,
    onProgress: () => controller.abort(),
  });
  await t.throwsAsync(fetching);
  t.deepEqual(await fs.readdir(dir), []);
});

test('a git tag with //subdir is checked out, its commit pinned, links to files copied and .git left out', async (t) => {
  const dir = await staging(t);
  const location = parseLocation(`git::${git.repoUrl('net')}//modules/sub?ref=v1.2.0`, files.url, { allowHttp: false });
  const fetched = await fetcherFor(dir).fetch(location);
  t.is(fetched.commit, await git.revParse('net', 'v1.2.0^{commit}'));
  t.is(fetched.subdir, 'modules/sub');
  t.deepEqual(await readTarGz(fetched.file), {
    'bin/': 'dir',
    'bin/tool': '755 #!/bin/sh\n',
    'main.tf': '644 root',
    'modules/': 'dir',
    'modules/sub/': 'dir',
    'modules/sub/alias.tf': '644 sub at v1.2.0',
    'modules/sub/main.tf': '644 sub at v1.2.0',
  });
  t.deepEqual(await fs.readdir(dir), [path.basename(fetched.file)]);
});

test('a git tree with a symlink leaving the tree is refused and nothing stays in staging', async (t) => {
  const dir = await staging(t);
  const location = parseLocation(`git::${git.repoUrl('escape')}?ref=v1`, files.url, { allowHttp: false });
  await t.throwsAsync(fetcherFor(dir).fetch(location), { instanceOf: InvalidInput, message: /symbolic link "passwd" points outside the tree/ });
  t.deepEqual(await fs.readdir(dir), []);
});

test('a git tree with a symlink to a directory is refused: only links to files become copies', async (t) => {
  const dir = await staging(t);
  const location = parseLocation(`git::${git.repoUrl('dirlink')}?ref=v1`, files.url, { allowHttp: false });
  await t.throwsAsync(fetcherFor(dir).fetch(location), {
    instanceOf: InvalidInput,
    message: /symbolic link "modules\/shared" points to the directory "shared"/,
  });
  t.deepEqual(await fs.readdir(dir), []);
});

test('a git tree with more entries than the limit is refused naming the config key', async (t) => {
  const dir = await staging(t);
  const location = parseLocation(`git::${git.repoUrl('wide')}?ref=v1`, files.url, { allowHttp: false });
  await t.throwsAsync(fetcherFor(dir, { ...limits, maxEntries: 10 }).fetch(location), {
    instanceOf: LimitExceeded,
    message: /module tree has more than 10 entries \(limits\.module_max_entries/,
  });
  t.deepEqual(await fs.readdir(dir), []);
});

test('resolveRef reports where the tag points upstream now', async (t) => {
  await git.createRepo('moving', { 'main.tf': 'one' });
  await git.tag('moving', 'v1');
  const location = parseLocation(`git::${git.repoUrl('moving')}?ref=v1`, files.url, { allowHttp: false });
  if (location.kind !== 'git') throw new Error('expected git');
  const fetcher = fetcherFor(await staging(t));
  t.is(await fetcher.resolveRef(location), await git.revParse('moving', 'v1^{commit}'));
  const moved = await git.moveTag('moving', 'v1', { 'main.tf': 'two' });
  t.is(await fetcher.resolveRef(location), moved);
});

test('a redirect from a public host to a loopback address is refused at that hop', async (t) => {
  const dir = await staging(t);
  // "public.example" is served from 127.0.0.2, which this test declares public; its redirect leads to localhost.
  const tls = await ensureSelfSignedTls(path.join(root, 'redirect-tls'), ['public.example']);
  let redirects = 0;
  const redirector = https.createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (_req, res) => {
    redirects += 1;
    res.writeHead(302, { location: at('redirected.zip') }).end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.2', resolve));
  t.teardown(() => new Promise<void>((resolve) => redirector.close(() => resolve())));
  const port = (redirector.address() as AddressInfo).port;
  const lookup = ((host: string, options: dns.LookupOptions, cb: (...args: unknown[]) => void) => {
    if (host !== 'public.example') return dns.lookup(host, options, cb as never);
    if (options.all) cb(null, [{ address: '127.0.0.2', family: 4 }]);
    else cb(null, '127.0.0.2', 4);
  }) as unknown as LookupFunction;
  const classifyAddress = (address: string) => (address === '127.0.0.2' ? undefined : forbiddenRange(address));
  const ca = `${files.caPem}\n${readFileSync(tls.caFile, 'utf8')}`;
  const http = upstreamHttpClient({ ca, lookup, classifyAddress, maxAttempts: 1 }, 'https://public.example/');
  const fetcher = createModuleFetcher({ limits, stagingDir: dir, http, git: gitClient });
  const location = parseLocation(`https://public.example:${port}/net.zip`, files.url, { allowHttp: false });
  await t.throwsAsync(fetcher.fetch(location), { instanceOf: UpstreamRefused, message: /loopback/ });
  t.is(redirects, 1);
  t.is(files.requests('/redirected.zip'), 0);
  t.deepEqual(await fs.readdir(dir), []);
});
