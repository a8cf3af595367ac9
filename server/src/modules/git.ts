/**
 * Shallow git over smart HTTP(S) with the `git` CLI. Chosen over
 * isomorphic-git because the CLI speaks protocol v2, fetches a single tag,
 * branch or commit at depth 1 (isomorphic-git's shallow fetch of a tag or of
 * a bare commit id is partial and it has no v2), and indexes packs in native
 * code, which matters for large module repositories.
 *
 * The repository is untrusted and so is whatever its host does, so every git
 * process runs hardened: only the URL's own scheme, no redirects, no
 * credentials or prompts, no system or user config, no hooks, submodules or
 * LFS, the address checked by the mirror's reach rules and pinned
 * (http.curloptResolve) so that DNS cannot move it afterwards, a time limit
 * and a size watchdog that kill the whole process group. Git's stderr is only
 * classified, never quoted: it can carry the upstream's text.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import dns from 'node:dns';
import fs from 'node:fs';
import net, { type LookupFunction } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { NotFound } from '../errors.js';
import { abortError } from '../storage/streaming.js';
import { UpstreamRefused, UpstreamTimeout, UpstreamTooLarge, UpstreamUnavailable, describeUrl } from '../upstream/errors.js';
import { type ReachOptions, refusalOf, refused } from '../upstream/reach.js';
import type { FetchOptions, GitClient, GitLocation } from './ports.js';

export interface GitClientOptions {
  /** Where the repository may be: the reach rules of the upstream that handed the location out. */
  reach: ReachOptions;
  /** Whole checkout or ls-remote (default 5 min). */
  timeoutMs?: number;
  /** Largest git object data on disk when checkout's maxBytes is not given (default 256 MiB). */
  maxBytes?: number;
  /**
   * Bounds checked on the fetched tree before anything is written out, so a small
   * pack of a highly compressible tree cannot fill the disk (the fetcher checks the
   * written tree against its own limits afterwards). Defaults 1 GiB and 200,000.
   */
  maxTreeBytes?: number;
  maxTreeEntries?: number;
  /** The git executable (default "git" on PATH). */
  gitBin?: string;
  /** Extra CA certificates trusted on top of the system's (default NODE_EXTRA_CA_CERTS, like Node's own trust). */
  extraCaFile?: string;
  /** Where temporary git directories and the CA bundle go (default the OS temp dir). */
  tempDir?: string;
  /** How often the size watchdog looks (default 100 ms). */
  pollMs?: number;
}

const MiB = 1024 * 1024;
const STDERR_KEPT = 16 * 1024;
/** Full commit ids (sha1 or sha256 repositories) are fetched by id; anything else is a ref name. */
const COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** Ref names as git-check-ref-format allows them, minus what could be read as an option or a refspec. */
const REF_NAME = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._\/+-]+(?<![./])$/;

export function createGitClient(opts: GitClientOptions): GitClient {
  const settings = {
    timeoutMs: opts.timeoutMs ?? 5 * 60_000,
    maxBytes: opts.maxBytes ?? 256 * MiB,
    maxTreeBytes: opts.maxTreeBytes ?? 1024 * MiB,
    maxTreeEntries: opts.maxTreeEntries ?? 200_000,
    gitBin: opts.gitBin ?? 'git',
    tempDir: opts.tempDir ?? os.tmpdir(),
    pollMs: opts.pollMs ?? 100,
    extraCaFile: opts.extraCaFile ?? process.env.NODE_EXTRA_CA_CERTS,
  };
  let caBundle: string | undefined;
  const bundle = () => (settings.extraCaFile ? (caBundle ??= writeCaBundle(settings.extraCaFile, settings.tempDir)) : undefined);

  /** A hardened git session in a fresh temp dir, removed afterwards. */
  const session = async <T>(location: GitLocation, signal: AbortSignal | undefined, work: (s: GitSession) => Promise<T>): Promise<T> => {
    if (signal?.aborted) throw abortError(signal);
    const url = checkedUrl(location, opts.reach);
    const resolve = await pinnedAddresses(url, opts.reach);
    const dir = fs.mkdtempSync(path.join(settings.tempDir, 'tfm-git-'));
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    const config = hardenedConfig(url, resolve, bundle());
    const deadline = Date.now() + settings.timeoutMs;
    try {
      return await work(new GitSession(settings, { dir, home, config, url, deadline, signal, ref: location.ref, timeoutMs: settings.timeoutMs }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  return {
    async checkout(location, into, fetchOpts = {}) {
      return session(location, fetchOpts.signal, async (s) => {
        const maxBytes = fetchOpts.maxBytes ?? settings.maxBytes;
        await s.git(['init', '-q', '--bare', s.gitDir]);
        const commit = await fetchRef(s, location, maxBytes, fetchOpts.onProgress);
        const entries = await checkTreeBounds(s, commit, settings, location);
        fs.mkdirSync(into, { recursive: true });
        // `checkout -- .` refuses an empty tree ("pathspec did not match"): nothing to write then.
        if (entries > 0) await s.git(['--git-dir', s.gitDir, `--work-tree=${into}`, 'checkout', '-q', '-f', commit, '--', '.']);
        return { commit };
      });
    },
    async lsRemote(location, signal) {
      // A commit id names itself: nothing upstream can move it.
      if (location.ref !== undefined && COMMIT_ID.test(location.ref)) return location.ref;
      return session(location, signal, async (s) => {
        const ref = location.ref;
        // In git's own order of precedence; a peeled tag (`^{}`, listed only when asked for by name) names its commit.
        const names = ref === undefined ? ['HEAD'] : ref.startsWith('refs/') ? [`${ref}^{}`, ref] : [`refs/tags/${ref}^{}`, `refs/tags/${ref}`, `refs/heads/${ref}`];
        const out = await s.git(['ls-remote', '--end-of-options', s.url.href, ...names], { network: true });
        const refs = new Map(
          out.split('\n').filter(Boolean).map((line) => {
            const [sha = '', name = ''] = line.split('\t');
            return [name, sha] as const;
          }),
        );
        for (const n of names) if (refs.has(n)) return refs.get(n);
        return undefined;
      });
    },
  };
}

/** Fetches the ref at depth 1 and returns the commit it names; a commit id the server will not hand out by id falls back to a full fetch. */
async function fetchRef(s: GitSession, location: GitLocation, maxBytes: number, onProgress?: (bytes: number) => void): Promise<string> {
  const ref = location.ref;
  const fetch = (args: string[]) => s.git(['--git-dir', s.gitDir, 'fetch', '-q', '--no-tags', '--no-recurse-submodules', ...args], { network: true, watch: { maxBytes, onProgress } });
  if (ref === undefined || !COMMIT_ID.test(ref)) {
    await fetch(['--depth', '1', '--end-of-options', s.url.href, ref ?? 'HEAD']);
    return s.git(['--git-dir', s.gitDir, 'rev-parse', '--verify', 'FETCH_HEAD^{commit}']).then((x) => x.trim());
  }
  try {
    await fetch(['--depth', '1', '--end-of-options', s.url.href, ref]);
  } catch (err) {
    if (!(err instanceof GitCommitByIdRefused)) throw err;
    // The server only hands out what its refs name (no allowReachableSHA1InWant):
    // fetch every branch and tag in full, bounded by the same watchdog, and look for the commit there.
    await fetch(['--end-of-options', s.url.href, '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*']);
  }
  const commit = await s.git(['--git-dir', s.gitDir, 'rev-parse', '--verify', '-q', `${ref}^{commit}`]).then((x) => x.trim(), () => '');
  if (commit !== ref) throw new NotFound(`commit ${ref} is not in ${describeUrl(s.url)} (not reachable from any branch or tag)`);
  return commit;
}

/** The number of entries in the commit's tree, after checking it against the bounds. */
async function checkTreeBounds(s: GitSession, commit: string, limits: { maxTreeBytes: number; maxTreeEntries: number }, location: GitLocation): Promise<number> {
  const listing = await s.git(['--git-dir', s.gitDir, 'ls-tree', '-r', '-t', '-l', '-z', '--full-tree', commit]);
  let entries = 0;
  let bytes = 0;
  for (const record of listing.split('\0')) {
    if (record === '') continue;
    entries++;
    const size = Number(/^\S+ \S+ \S+ +(\d+)\t/.exec(record)?.[1] ?? 0);
    bytes += size;
  }
  const where = `${describeUrl(s.url)}${location.ref ? ` at ${location.ref}` : ''}`;
  if (entries > limits.maxTreeEntries) throw new UpstreamTooLarge(`the tree of ${where} has ${entries} entries, more than the limit of ${limits.maxTreeEntries}`, s.url.href);
  if (bytes > limits.maxTreeBytes) throw new UpstreamTooLarge(`the tree of ${where} holds ${bytes} bytes, more than the limit of ${limits.maxTreeBytes}`, s.url.href);
  return entries;
}

/** The location's URL, if its scheme and form may be fetched under `reach`. */
function checkedUrl(location: GitLocation, reach: ReachOptions): URL {
  let url: URL;
  try {
    url = new URL(location.url);
  } catch {
    throw new UpstreamRefused('refused to fetch a git repository from an invalid URL', '');
  }
  const allowed = reach.requireHttps ? ['https:'] : ['https:', 'http:'];
  if (!allowed.includes(url.protocol)) {
    throw new UpstreamRefused(`refused to fetch git over ${url.protocol.replace(':', '')} from ${url.host}: only ${allowed.map((p) => p.replace(':', '')).join(' or ')}`, url.host);
  }
  if (url.username || url.password) throw new UpstreamRefused(`refused to fetch ${describeUrl(url)}: it embeds credentials`, url.host);
  url.hash = '';
  url.search = '';
  if (location.ref !== undefined && !REF_NAME.test(location.ref)) {
    throw new UpstreamRefused(`refused to fetch ${describeUrl(url)}: the ref is not a valid git ref name`, url.host);
  }
  return url;
}

/**
 * The addresses git may connect to: the host resolved here and checked with
 * the reach rules before any connection, as `host:port:addr,...` for
 * http.curloptResolve; undefined for an IP literal (checked, nothing to pin).
 */
async function pinnedAddresses(url: URL, reach: ReachOptions): Promise<string | undefined> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (net.isIP(host)) {
    const range = await refusalOf(host, reach);
    if (range !== undefined) throw refused(url.host, host, range);
    return undefined;
  }
  const resolve = reach.lookup ?? (dns.lookup as unknown as LookupFunction);
  const addresses = await new Promise<dns.LookupAddress[]>((done, fail) => {
    resolve(host, { all: true }, (err, list) => {
      if (err || !Array.isArray(list) || list.length === 0) fail(new UpstreamUnavailable(`${host} does not resolve`, { url: url.href }));
      else done(list);
    });
  });
  // Every address, not only the first: curl may try any of them.
  for (const { address } of addresses) {
    const range = await refusalOf(address, reach);
    if (range !== undefined) throw refused(host, address, range);
  }
  return `${host}:${port}:${addresses.map((a) => (a.family === 6 ? `[${a.address}]` : a.address)).join(',')}`;
}

function hardenedConfig(url: URL, resolve: string | undefined, caBundle: string | undefined): string[] {
  const scheme = url.protocol.replace(':', '');
  const pairs: [string, string][] = [
    ['protocol.allow', 'never'],
    [`protocol.${scheme}.allow`, 'always'],
    ['protocol.version', '2'],
    ['http.followRedirects', 'false'],
    ['http.sslVerify', 'true'],
    ['http.proxy', ''],
    ['credential.helper', ''],
    ['core.hooksPath', '/dev/null'],
    ['core.symlinks', 'true'],
    ['core.fsmonitor', 'false'],
    ['submodule.recurse', 'false'],
    ['fetch.recurseSubmodules', 'false'],
    ['filter.lfs.smudge', ''],
    ['filter.lfs.process', ''],
    ['filter.lfs.required', 'false'],
    // Always index-pack, which writes the pack to disk as it arrives (what the size watchdog measures);
    // unpack-objects, used below 100 objects, holds each object whole in memory first.
    ['fetch.unpackLimit', '1'],
    ['transfer.unpackLimit', '1'],
    ['gc.auto', '0'],
    ['maintenance.auto', 'false'],
    ['init.defaultBranch', 'main'],
    ['advice.detachedHead', 'false'],
  ];
  if (resolve !== undefined) pairs.push(['http.curloptResolve', resolve]);
  if (caBundle !== undefined) pairs.push(['http.sslCAInfo', caBundle]);
  return pairs.flatMap(([k, v]) => ['-c', `${k}=${v}`]);
}

const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/ssl/cert.pem'];

/**
 * The system roots plus the extra CA file, like Node with NODE_EXTRA_CA_CERTS
 * (http.sslCAInfo replaces git's roots, so both go in one file), written once
 * under a name from its content. Node's own bundled roots stand in where the
 * system has no bundle.
 */
function writeCaBundle(extraFile: string, dir: string): string {
  const system = SYSTEM_BUNDLES.map((f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined)).find((x) => x !== undefined) ?? tls.rootCertificates.join('\n');
  const pem = `${system.endsWith('\n') ? system : `${system}\n`}${fs.readFileSync(extraFile, 'utf8')}`;
  const file = path.join(dir, `tfm-git-ca-${createHash('sha256').update(pem).digest('hex').slice(0, 16)}.pem`);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, pem, { mode: 0o644 });
    fs.renameSync(tmp, file);
  }
  return file;
}

/** The server refused to hand out a commit its refs do not name (no allowReachableSHA1InWant). */
class GitCommitByIdRefused extends UpstreamUnavailable {}

interface SessionContext {
  dir: string;
  home: string;
  config: string[];
  url: URL;
  deadline: number;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  /** The location's ref (already checked to be a plain ref name). */
  ref: string | undefined;
}

interface RunOptions {
  /** Talks to the remote: failures are classified as the remote's. */
  network?: boolean;
  watch?: { maxBytes: number; onProgress?: ((bytes: number) => void) | undefined };
}

/** Runs git commands for one checkout or ls-remote within its deadline, killing each process group it must stop. */
class GitSession {
  readonly gitDir: string;
  readonly url: URL;

  constructor(
    private readonly settings: { gitBin: string; pollMs: number },
    private readonly ctx: SessionContext,
  ) {
    this.gitDir = path.join(ctx.dir, 'repo.git');
    this.url = ctx.url;
  }

  git(args: string[], opts: RunOptions = {}): Promise<string> {
    const { ctx } = this;
    const env: NodeJS.ProcessEnv = {
      // Only what git needs: no proxies (they would bypass the pinned address), no GIT_* from the server's environment.
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: ctx.home,
      XDG_CONFIG_HOME: ctx.home,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: 'true',
      SSH_ASKPASS: 'true',
      GIT_LFS_SKIP_SMUDGE: '1',
      GIT_PROTOCOL_FROM_USER: '0',
      // Messages in English, so the classification below reads them.
      LC_ALL: 'C',
      LANG: 'C',
    };
    return new Promise((resolve, reject) => {
      const remaining = ctx.deadline - Date.now();
      if (remaining <= 0) return reject(this.timeout());
      const child = spawn(this.settings.gitBin, [...ctx.config, ...args], { env, cwd: ctx.dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      let stderr = '';
      let stopped: Error | undefined;
      const stop = (why: Error) => {
        stopped ??= why;
        killGroup(child);
      };
      child.stdout.on('data', (c: Buffer) => stdout.push(c));
      child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-STDERR_KEPT)));
      const timer = setTimeout(() => stop(this.timeout()), remaining);
      const onAbort = () => stop(abortError(ctx.signal));
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      const watch = opts.watch;
      const objects = path.join(this.gitDir, 'objects');
      const check = () => {
        const bytes = dirSize(objects);
        watch?.onProgress?.(bytes);
        if (watch && bytes > watch.maxBytes) stop(this.tooLarge(watch.maxBytes));
      };
      const poller = watch ? setInterval(check, this.settings.pollMs) : undefined;
      child.on('error', (err) => stop(new UpstreamUnavailable(`could not run git: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {}, { cause: err })));
      child.on('close', (code) => {
        clearTimeout(timer);
        if (poller) clearInterval(poller);
        ctx.signal?.removeEventListener('abort', onAbort);
        // What is on disk once git is done counts too: a fast transfer can finish between two polls.
        if (!stopped && code === 0 && watch) check();
        if (stopped) return reject(stopped);
        if (code !== 0) return reject(opts.network ? this.classify(stderr, code) : new UpstreamUnavailable(`git ${args.find((a) => !a.startsWith('-') && !a.includes('=') && !a.includes('/')) ?? ''} failed (exit ${code})`, { url: this.url.href }));
        resolve(Buffer.concat(stdout).toString('utf8'));
      });
    });
  }

  private timeout(): UpstreamTimeout {
    return new UpstreamTimeout(`git from ${describeUrl(this.url)} took longer than the limit of ${Math.round(this.ctx.timeoutMs / 1000)} s; git was stopped`, { url: this.url.href });
  }

  private tooLarge(maxBytes: number): UpstreamTooLarge {
    return new UpstreamTooLarge(`the git transfer from ${describeUrl(this.url)} exceeded the download limit of ${maxBytes} bytes; git was stopped`, this.url.href);
  }

  /** A short fixed description of why git failed; its stderr may carry the remote's text, so none of it is quoted. */
  private classify(stderr: string, code: number | null): Error {
    const where = describeUrl(this.url);
    const ref = /couldn't find remote ref|no such ref was fetched|invalid refspec/i;
    if (ref.test(stderr)) return new NotFound(`ref ${this.ctx.ref ?? 'HEAD'} not found in ${where}`);
    if (/unadvertised object|not our ref|does not allow request for/i.test(stderr)) {
      return new GitCommitByIdRefused(`${where} does not hand out commits by id`, { url: this.url.href });
    }
    const status = /returned error: (\d{3})/.exec(stderr)?.[1];
    if (status === '404' || /repository '.*' not found/i.test(stderr)) return new NotFound(`git repository ${where} not found`);
    if (status?.startsWith('3') || /redirect/i.test(stderr)) {
      return new UpstreamRefused(`${where} answered with a redirect (HTTP ${status ?? '3xx'}), which is not followed for git`, this.url.host);
    }
    if (status === '401' || status === '403' || /authentication|could not read (username|password)|terminal prompts disabled/i.test(stderr)) {
      return new UpstreamUnavailable(`${where} asks for credentials, which the mirror does not send`, { url: this.url.href, ...(status ? { status: Number(status) } : {}) });
    }
    if (status) return new UpstreamUnavailable(`git from ${where} got HTTP ${status}`, { url: this.url.href, status: Number(status) });
    if (/certificate|ssl|tls|handshake/i.test(stderr)) return new UpstreamUnavailable(`TLS with ${this.url.host} failed (certificate not trusted or handshake refused)`, { url: this.url.href });
    if (/could not resolve|failed to connect|couldn't connect|connection refused|connection reset|timed out|recv failure|empty reply|end of file/i.test(stderr)) {
      return new UpstreamUnavailable(`could not connect to ${this.url.host} for git`, { url: this.url.href });
    }
    if (/not allowed|unsupported protocol/i.test(stderr)) return new UpstreamRefused(`refused to fetch git from ${where}: transport not allowed`, this.url.host);
    return new UpstreamUnavailable(`git from ${where} failed (exit ${code ?? 'signal'})`, { url: this.url.href });
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Bytes of the files under `dir` (git's objects as they arrive, temporary packs included). */
function dirSize(dir: string): number {
  let total = 0;
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const d of names) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) total += dirSize(p);
    else {
      try {
        total += fs.lstatSync(p).size;
      } catch {
        // Renamed or removed while looking.
      }
    }
  }
  return total;
}
