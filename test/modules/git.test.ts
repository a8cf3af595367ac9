/**
 * GitClient against a real `git http-backend` over HTTPS: what a checkout
 * leaves on disk, which commit it pins, and every refusal and bound —
 * schemes, redirects, addresses (checked before any connection, then pinned),
 * size and time — with errors that say which rule or limit, not git's text.
 */
import anyTest, { type TestFn } from 'ava';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { LookupFunction } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NotFound } from '../../server/src/errors.js';
import { createGitClient, type GitClientOptions } from '../../server/src/modules/git.js';
import type { GitLocation } from '../../server/src/modules/ports.js';
import { UpstreamRefused, UpstreamTimeout, UpstreamTooLarge, UpstreamUnavailable } from '../../server/src/upstream/errors.js';
import { type GitServer, type GitTree, REDIRECT_PREFIX, startGitServer } from '../fixtures/git-server.js';

const hasGit = (() => {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasGit) console.log('# skipping git client tests: the git CLI is not on PATH');
const test = (hasGit ? anyTest : anyTest.skip) as TestFn<Ctx>;

interface Ctx {
  git: GitServer;
  tmp: string;
  v1: string;
  client: (o?: Partial<GitClientOptions>) => ReturnType<typeof createGitClient>;
  into: () => string;
}

const TREE_V1: GitTree = {
  'main.tf': 'module "sub" { source = "./modules/sub" }\n',
  'modules/sub/main.tf': 'output "x" { value = 1 }\n',
  'modules/sub/scripts/run.sh': { content: '#!/bin/sh\necho hi\n', executable: true },
  'modules/sub/link.tf': { symlink: 'main.tf' },
  'README.md': '# fixture\n',
};
const TREE_MAIN: GitTree = { 'main.tf': '# moved on\n' };
const HOST = 'git.example.test';
const loc = (url: string, ref?: string): GitLocation => ({ kind: 'git', url, ...(ref === undefined ? {} : { ref }), raw: `git::${url}${ref ? `?ref=${ref}` : ''}` });
/** A resolver that knows one name; real DNS never answers for git.example.test. */
const resolveTo = (address: string): LookupFunction => ((_h: string, _o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) =>
  cb(null, [{ address, family: 4 }])) as unknown as LookupFunction;

test.before(async (t) => {
  const git = await startGitServer({ hostnames: [HOST] });
  await git.createRepo('repo', TREE_V1);
  await git.tag('repo', 'v1.2.0');
  await git.tag('repo', 'v1.2.0-light', { annotated: false });
  const v1 = await git.revParse('repo', 'v1.2.0');
  await git.commit('repo', TREE_MAIN);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-git-test-'));
  let n = 0;
  t.context = {
    git,
    tmp,
    v1,
    client: (o = {}) => createGitClient({ reach: { requireHttps: true, allowPrivate: true }, extraCaFile: git.caFile, tempDir: tmp, ...o }),
    into: () => path.join(tmp, `into-${n++}`),
  };
});
test.after.always(async (t) => {
  await t.context.git?.close();
  if (t.context.tmp) fs.rmSync(t.context.tmp, { recursive: true, force: true });
});

/** The tree under `dir` in the fixture's terms (files, executables, symlinks), and whether a .git is anywhere in it. */
function readTree(dir: string): GitTree {
  const out: GitTree = {};
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      const abs = path.join(dir, r);
      if (d.isSymbolicLink()) out[r] = { symlink: fs.readlinkSync(abs) };
      else if (d.isDirectory()) walk(r);
      else {
        const content = fs.readFileSync(abs, 'utf8');
        out[r] = fs.statSync(abs).mode & 0o100 ? { content, executable: true } : content;
      }
    }
  };
  walk('');
  return out;
}

/** Temp entries the client left behind (the CA bundle it keeps is expected). */
const leftovers = (tmp: string) => fs.readdirSync(tmp).filter((f) => f.startsWith('tfm-git-') && !f.startsWith('tfm-git-ca-'));

test.serial('a tag checks out the repository tree at that tag, subdirectories, executables and symlinks included, with no .git, and pins its commit', async (t) => {
  const { git, v1 } = t.context;
  const into = t.context.into();
  const { commit } = await t.context.client().checkout(loc(git.repoUrl('repo'), 'v1.2.0'), into);
  t.is(commit, v1);
  t.deepEqual(readTree(into), TREE_V1);
  t.false(fs.existsSync(path.join(into, '.git')));
  t.deepEqual(leftovers(t.context.tmp), []);
});

test.serial('a lightweight tag pins the same commit as the annotated one', async (t) => {
  const { commit } = await t.context.client().checkout(loc(t.context.git.repoUrl('repo'), 'v1.2.0-light'), t.context.into());
  t.is(commit, t.context.v1);
});

test.serial("no ref checks out the remote's default branch", async (t) => {
  const { git } = t.context;
  const into = t.context.into();
  const { commit } = await t.context.client().checkout(loc(git.repoUrl('repo')), into);
  t.is(commit, await git.revParse('repo', 'main'));
  t.deepEqual(readTree(into), TREE_MAIN);
});

test.serial('a branch name checks out its tip', async (t) => {
  const into = t.context.into();
  const { commit } = await t.context.client().checkout(loc(t.context.git.repoUrl('repo'), 'main'), into);
  t.is(commit, await t.context.git.revParse('repo', 'main'));
});

test.serial('a full commit id checks out that commit, though no ref points at it any longer', async (t) => {
  const { git } = t.context;
  await git.createRepo('bycommit', { 'a.tf': 'first\n' });
  const first = await git.revParse('bycommit', 'main');
  await git.commit('bycommit', { 'a.tf': 'second\n' });
  const into = t.context.into();
  const { commit } = await t.context.client().checkout(loc(git.repoUrl('bycommit'), first), into);
  t.is(commit, first);
  t.deepEqual(readTree(into), { 'a.tf': 'first\n' });
});

test.serial('a commit id from a server that hands out only advertised refs is found by a full fetch of its branches and tags', async (t) => {
  const old = await startGitServer({ protocolV0Only: true });
  t.teardown(() => old.close());
  await old.createRepo('r', { 'a.tf': 'first\n' }, { allowReachableSHA1InWant: false });
  const first = await old.revParse('r', 'main');
  await old.commit('r', { 'a.tf': 'second\n' });
  const client = createGitClient({ reach: { requireHttps: true, allowPrivate: true }, extraCaFile: old.caFile, tempDir: t.context.tmp });
  const into = t.context.into();
  t.is((await client.checkout(loc(old.repoUrl('r'), first), into)).commit, first);
  t.deepEqual(readTree(into), { 'a.tf': 'first\n' });
  const missing = 'f'.repeat(40);
  const err = await t.throwsAsync(client.checkout(loc(old.repoUrl('r'), missing), t.context.into()), { instanceOf: NotFound });
  t.true(err.message.includes(missing) && err.message.includes(old.repoUrl('r')), err.message);
});

test.serial('a ref the repository does not have is NotFound naming the repository and the ref', async (t) => {
  const url = t.context.git.repoUrl('repo');
  const err = await t.throwsAsync(t.context.client().checkout(loc(url, 'v9.9.9'), t.context.into()), { instanceOf: NotFound });
  t.is(err.message, `ref v9.9.9 not found in ${url}`);
  t.deepEqual(leftovers(t.context.tmp), []);
});

test.serial('a repository that does not exist is NotFound naming it', async (t) => {
  const url = `${t.context.git.url}nothing-here.git`;
  const err = await t.throwsAsync(t.context.client().checkout(loc(url, 'v1.2.0'), t.context.into()), { instanceOf: NotFound });
  t.is(err.message, `git repository ${url} not found`);
});

test.serial('a redirect is refused, and its target is never asked', async (t) => {
  const { git } = t.context;
  git.resetCounters();
  const url = `${git.url}${REDIRECT_PREFIX.slice(1)}/repo.git`;
  const err = await t.throwsAsync(t.context.client().checkout(loc(url, 'v1.2.0'), t.context.into()), { instanceOf: UpstreamRefused });
  t.regex(err.message, /answered with a redirect \(HTTP 302\), which is not followed/);
  t.true(git.requests(REDIRECT_PREFIX) >= 1);
  t.is(git.requests(/^\/repo\.git/), 0);
});

test.serial('plain http is refused when the upstream is https, before any connection', async (t) => {
  const { git } = t.context;
  git.resetCounters();
  const err = await t.throwsAsync(t.context.client().checkout(loc(`http://127.0.0.1:${git.port}/repo.git`, 'v1.2.0'), t.context.into()), { instanceOf: UpstreamRefused });
  t.regex(err.message, /refused to fetch git over http .*only https/);
  t.is(git.requests(), 0);
});

test.serial('a ref that git would read as an option or a refspec is refused before any connection', async (t) => {
  const { git } = t.context;
  git.resetCounters();
  for (const ref of ['--upload-pack=touch /tmp/x', 'main:refs/heads/evil', '../etc', 'a..b']) {
    await t.throwsAsync(t.context.client().checkout(loc(git.repoUrl('repo'), ref), t.context.into()), { instanceOf: UpstreamRefused, message: /not a valid git ref name/ });
  }
  t.is(git.requests(), 0);
});

const reachCases = [
  { name: 'a name resolving to the metadata address 169.254.169.254', host: HOST, address: '169.254.169.254', range: 'link-local' },
  { name: 'a name resolving to 127.0.0.1', host: HOST, address: '127.0.0.1', range: 'loopback' },
  { name: 'the IP literal 127.0.0.1', host: '127.0.0.1', address: '127.0.0.1', range: 'loopback' },
];
for (const c of reachCases) {
  test.serial(`${c.name} is refused without the private-network exemption, before any connection`, async (t) => {
    const { git } = t.context;
    git.resetCounters();
    const client = t.context.client({ reach: { requireHttps: true, allowPrivate: false, lookup: resolveTo(c.address) } });
    const url = `https://${c.host}:${git.port}/repo.git`;
    const err = await t.throwsAsync(client.checkout(loc(url, 'v1.2.0'), t.context.into()), { instanceOf: UpstreamRefused });
    t.true(err.message.includes(c.address) && err.message.includes(`a ${c.range} address`), err.message);
    await t.throwsAsync(client.lsRemote(loc(url, 'v1.2.0')), { instanceOf: UpstreamRefused });
    t.is(git.requests(), 0);
  });
}

test.serial('git connects to the address the server checked, not one of its own resolving', async (t) => {
  // git.example.test exists only in this resolver: the checkout works only if git is pinned to its answer.
  const { git, v1 } = t.context;
  const client = t.context.client({ reach: { requireHttps: true, allowPrivate: false, lookup: resolveTo('127.0.0.1'), classify: () => undefined } });
  const { commit } = await client.checkout(loc(`https://${HOST}:${git.port}/repo.git`, 'v1.2.0'), t.context.into());
  t.is(commit, v1);
  t.is(await client.lsRemote(loc(`https://${HOST}:${git.port}/repo.git`, 'v1.2.0')), v1);
});

test.serial("the server process's git config, proxy and GIT_DIR variables do not reach git", async (t) => {
  const { git, v1, tmp } = t.context;
  // Followed, this global config would send repo.git to a repository that does not exist, and the proxy nowhere.
  const global = path.join(tmp, 'hostile-gitconfig');
  fs.writeFileSync(global, `[url "${git.url}nothing-here.git"]\n\tinsteadOf = ${git.repoUrl('repo')}\n`);
  const saved = { ...process.env };
  t.teardown(() => {
    for (const k of ['GIT_CONFIG_GLOBAL', 'HTTPS_PROXY', 'https_proxy', 'GIT_DIR']) delete process.env[k];
    Object.assign(process.env, saved);
  });
  Object.assign(process.env, { GIT_CONFIG_GLOBAL: global, HTTPS_PROXY: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9', GIT_DIR: path.join(tmp, 'nowhere') });
  const { commit } = await t.context.client().checkout(loc(git.repoUrl('repo'), 'v1.2.0'), t.context.into());
  t.is(commit, v1);
});

test.serial("without the CA that signed the server's certificate the connection is refused", async (t) => {
  const client = createGitClient({ reach: { requireHttps: true, allowPrivate: true }, extraCaFile: '', tempDir: t.context.tmp });
  const err = await t.throwsAsync(client.checkout(loc(t.context.git.repoUrl('repo'), 'v1.2.0'), t.context.into()), { instanceOf: UpstreamUnavailable });
  t.regex(err.message, /^TLS with 127\.0\.0\.1:\d+ failed/);
});

test.serial('the size watchdog stops a transfer above the download limit while it is under way, and says which limit', async (t) => {
  const { git } = t.context;
  await git.createRepo('big', { 'blob.bin': randomBytes(16 * 1024 * 1024) });
  // Throttled to at most 3 MiB/s (timers make it nearer 1): the whole pack takes at least 5 s, the watchdog stops it long before.
  git.setFault({ kind: 'throttle', chunkBytes: 32 * 1024, delayMs: 10 });
  t.teardown(() => git.setFault(undefined));
  const progress: number[] = [];
  const started = Date.now();
  const err = await t.throwsAsync(
    t.context.client().checkout(loc(git.repoUrl('big')), t.context.into(), { maxBytes: 256 * 1024, onProgress: (b) => progress.push(b) }),
    { instanceOf: UpstreamTooLarge },
  );
  const elapsed = Date.now() - started;
  t.regex(err.message, /exceeded the download limit of 262144 bytes; git was stopped/);
  t.true(elapsed < 4000, `took ${elapsed} ms`);
  t.true(progress.length > 0 && progress.at(-1)! > 256 * 1024, 'progress reports the bytes on disk');
  t.deepEqual(leftovers(t.context.tmp), []);
});

test.serial('a transfer that finished between two watchdog looks is still held to the download limit', async (t) => {
  const err = await t.throwsAsync(t.context.client({ pollMs: 60_000 }).checkout(loc(t.context.git.repoUrl('big')), t.context.into(), { maxBytes: 1024 * 1024 }), {
    instanceOf: UpstreamTooLarge,
  });
  t.regex(err.message, /download limit of 1048576 bytes/);
});

test.serial('a tree over the entry bound is refused before anything is written', async (t) => {
  const { git } = t.context;
  const tree: GitTree = {};
  for (let i = 0; i < 20; i++) tree[`f${i}.tf`] = `# ${i}\n`;
  await git.createRepo('wide', tree);
  const into = t.context.into();
  const err = await t.throwsAsync(t.context.client({ maxTreeEntries: 10 }).checkout(loc(git.repoUrl('wide')), into), { instanceOf: UpstreamTooLarge });
  t.regex(err.message, /has 20 entries, more than the limit of 10/);
  t.false(fs.existsSync(into));
});

test.serial('the time limit stops a server that never answers, and the error says so', async (t) => {
  const { git } = t.context;
  git.setFault({ kind: 'hang' });
  t.teardown(() => git.setFault(undefined));
  const started = Date.now();
  const err = await t.throwsAsync(t.context.client({ timeoutMs: 700 }).checkout(loc(git.repoUrl('repo'), 'v1.2.0'), t.context.into()), { instanceOf: UpstreamTimeout });
  t.true(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  t.regex(err.message, /took longer than the limit of 1 s; git was stopped/);
  t.deepEqual(leftovers(t.context.tmp), []);
});

test.serial('an abort stops git at once', async (t) => {
  const { git } = t.context;
  git.setFault({ kind: 'hang' });
  t.teardown(() => git.setFault(undefined));
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  const err = await t.throwsAsync(t.context.client().checkout(loc(git.repoUrl('repo'), 'v1.2.0'), t.context.into(), { signal: ac.signal }));
  t.is(err.name, 'AbortError');
});

test.serial("a server error is described by its status, not by git's output", async (t) => {
  const { git } = t.context;
  git.setFault({ kind: 'status', status: 503 });
  t.teardown(() => git.setFault(undefined));
  const err = await t.throwsAsync(t.context.client().checkout(loc(git.repoUrl('repo'), 'v1.2.0'), t.context.into()), { instanceOf: UpstreamUnavailable });
  t.is(err.message, `git from ${git.repoUrl('repo')} got HTTP 503`);
  t.is((err as UpstreamUnavailable).details.status, 503);
});

test.serial('ls-remote gives the commit a tag points at now: after the tag moved, the new one', async (t) => {
  const { git } = t.context;
  await git.createRepo('drift', { 'a.tf': 'one\n' });
  await git.tag('drift', 'v1.0.0');
  const client = t.context.client();
  const before = await client.lsRemote(loc(git.repoUrl('drift'), 'v1.0.0'));
  t.is(before, await git.revParse('drift', 'v1.0.0'));
  const moved = await git.moveTag('drift', 'v1.0.0', { 'a.tf': 'two\n' });
  t.not(moved, before);
  t.is(await client.lsRemote(loc(git.repoUrl('drift'), 'v1.0.0')), moved);
});

test.serial('ls-remote resolves branches and the default branch, names a commit id itself, and gives undefined for a ref that is gone', async (t) => {
  const { git, v1 } = t.context;
  const client = t.context.client();
  const main = await git.revParse('repo', 'main');
  t.is(await client.lsRemote(loc(git.repoUrl('repo'), 'main')), main);
  t.is(await client.lsRemote(loc(git.repoUrl('repo'))), main);
  t.is(await client.lsRemote(loc(git.repoUrl('repo'), 'v1.2.0-light')), v1);
  t.is(await client.lsRemote(loc(git.repoUrl('repo'), v1)), v1);
  t.is(await client.lsRemote(loc(git.repoUrl('repo'), 'v0.0.1')), undefined);
  await t.throwsAsync(client.lsRemote(loc(`${git.url}nothing-here.git`, 'v1')), { instanceOf: NotFound });
});
