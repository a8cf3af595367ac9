/**
 * Serving over HTTPS, `tfmirror serve` beside nginx on the same bytes in the same run:
 *   documents: warm index.json and {version}.json, 64 connections, 10 s each
 *              (wrk when installed, else autocannon), requests/s and p99;
 *   archives:  eight concurrent downloads of a ~200 MB provider zip (curl), MB/s;
 *   rss:       the server's peak RSS (all its processes) while 32 clients
 *              download a ~500 MB zip at once.
 * nginx runs with `worker_processes auto`, sendfile and TLS on the server's own
 * certificate. Sides alternate; medians. The load average is printed: the
 * machine may be shared, and the load generator shares its cores.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { writeMirrorDirectory } from '../fixtures/mirror-directory.js';
import { pipeline } from 'node:stream/promises';
import { runCli, startServe } from '../fixtures/tfmirror.js';
import { writeBigProviderMirror } from './big-zip.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** wrk threads: one leaves the second core to the server, as nginx gets it. */
const WRK_THREADS = Number(process.env.BENCH_WRK_THREADS ?? 1);

interface Side {
  name: string;
  /** Base URL with a trailing slash. */
  url: string;
  /** Process whose tree's RSS is the server's. */
  pid: number;
  stop(): Promise<unknown>;
}

interface Setup {
  dir: string;
  mirror: Side;
  nginx?: Side;
  /** The server's CA (its self-signed certificate names localhost). */
  caFile: string;
  ca: Buffer;
}

/** GET over TLS from a side (whose URL names 127.0.0.1), checked against the server's CA. */
function get(s: Setup, url: string): Promise<import('node:http').IncomingMessage> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: s.ca, servername: 'localhost' }, (res) => (res.statusCode === 200 ? resolve(res) : (res.resume(), reject(new Error(`GET ${url}: ${res.statusCode}`)))))
      .on('error', reject);
  });
}

/** Imports each export into a fresh data directory and starts `serve` over TLS (its own certificate). */
async function startMirror(dir: string, exportDirs: string[]): Promise<Setup> {
  const env = {
    TFM_DATA_DIR: path.join(dir, 'data'),
    TFM_SERVER_LISTEN: '127.0.0.1:0',
    TFM_SERVER_TLS: 'true',
    TFM_LOG_LEVEL: 'warn',
    // Two serving processes, as nginx runs one worker per core here; BENCH_SERVE_WORKERS=1 for one.
    TFM_SERVER_WORKERS: process.env.BENCH_SERVE_WORKERS ?? String(Math.min(os.cpus().length, 2)),
  };
  for (const exportDir of exportDirs) {
    const res = await runCli(['import', exportDir], env, { timeoutMs: 600_000 });
    if (res.code !== 0) throw new Error(`import failed: ${res.stdout}${res.stderr}`);
  }
  const serve = await startServe(env, { timeoutMs: 60_000 });
  const caFile = path.join(dir, 'data', 'tls', 'ca.crt');
  const url = serve.url.replace('//localhost:', '//127.0.0.1:');
  return { dir, caFile, ca: fs.readFileSync(caFile), mirror: { name: 'tfmirror serve', url, pid: serve.child.pid!, stop: () => serve.stop() } };
}

/** nginx serving each file at the path the mirror answers it on, with the bytes the mirror answers. */
async function addNginx(s: Setup, files: string[]): Promise<void> {
  const root = path.join(s.dir, 'static');
  for (const file of files) {
    const target = path.join(root, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const res = await get(s, s.mirror.url + file);
    await pipeline(res, fs.createWriteStream(target));
  }
  const tlsDir = path.join(s.dir, 'data', 'tls');
  const nginx = await startNginx(s.dir, root, path.join(tlsDir, 'server.crt'), path.join(tlsDir, 'server.key'));
  if (nginx) s.nginx = nginx;
}

async function stopAll(s: Setup): Promise<void> {
  await Promise.all([s.mirror.stop(), s.nginx?.stop()]);
  fs.rmSync(s.dir, { recursive: true, force: true });
}

const NGINX_PATHS = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/opt/homebrew/bin/nginx'];

async function startNginx(dir: string, root: string, cert: string, key: string): Promise<Side | undefined> {
  const nginx = NGINX_PATHS.find((p) => fs.existsSync(p));
  if (!nginx) return undefined;
  // Workers run as an unprivileged user when started as root: let them read the tree.
  for (const p of walk(root)) fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o755 : 0o644);
  for (let p = root; p.startsWith(os.tmpdir() + path.sep); p = path.dirname(p)) fs.chmodSync(p, 0o755);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `daemon off; worker_processes auto; pid ${dir}/nginx.pid; error_log stderr error;
events { worker_connections 4096; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  types { application/json json; application/zip zip; }
  client_body_temp_path ${dir}/nginx-tmp; proxy_temp_path ${dir}/nginx-tmp; fastcgi_temp_path ${dir}/nginx-tmp;
  uwsgi_temp_path ${dir}/nginx-tmp; scgi_temp_path ${dir}/nginx-tmp;
  ssl_session_cache shared:tls:10m;
  server { listen 127.0.0.1:${port} ssl; ssl_certificate ${cert}; ssl_certificate_key ${key}; root ${root}; }
}\n`,
  );
  const child: ChildProcess = spawn(nginx, ['-c', conf, '-p', dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `https://127.0.0.1:${port}/`;  // wrk and curl connect to 127.0.0.1; the certificate names localhost
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      https.get(url, { rejectUnauthorized: false }, (res) => (res.resume(), resolve(true))).on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { name: 'nginx (auto workers)', url, pid: child.pid!, stop: () => (child.kill('SIGTERM'), exited) };
}

function* walk(p: string): Generator<string> {
  yield p;
  if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p)) yield* walk(path.join(p, e));
}

interface LoadResult {
  rps: number;
  p99: number;
  errors: number;
}

const hasWrk = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version.
    return (err as { status?: number }).status === 1;
  }
})();

/** One load run against one URL. wrk keeps the load generator's own cost low (C, one thread); autocannon otherwise. */
async function generateLoad(url: string): Promise<LoadResult> {
  if (!hasWrk) {
    const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, pipelining: 1 });
    return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
  }
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', [`-t${WRK_THREADS}`, `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url]);
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d));
    child.stderr.on('data', (d: Buffer) => (text += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`))));
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s)\b/m.exec(out);
  const scale = { us: 1e-3, ms: 1, s: 1e3 } as const;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((n, s) => n + Number(s), 0) : 0;
  if (!Number.isFinite(rps) || !p99) throw new Error(`cannot read wrk's output:\n${out}`);
  return { rps, p99: Number(p99[1]) * scale[p99[2] as keyof typeof scale], errors: non2xx + socketErrors };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/**
 * The floor for Node on the bench's machine: node:https in two processes sharing one
 * listening socket, as serve with workers does, answering the same bytes
 * from memory with the same headers, and doing nothing else.
 */
async function startBareNode(s: Setup, docs: string[]): Promise<Side> {
  const bodies: Record<string, string> = {};
  for (const doc of docs) {
    let text = '';
    for await (const chunk of await get(s, s.mirror.url + doc)) text += chunk;
    bodies['/' + doc] = text;
  }
  const tlsDir = path.join(s.dir, 'data', 'tls');
  const script = path.join(s.dir, 'bare-node.cjs');
  fs.writeFileSync(
    script,
    `const https = require('node:https'), fs = require('node:fs'), { fork } = require('node:child_process');
const bodies = new Map(Object.entries(${JSON.stringify(bodies)}).map(([k, v]) => [k, Buffer.from(v)]));
const server = https.createServer({ cert: fs.readFileSync(${JSON.stringify(path.join(tlsDir, 'server.crt'))}), key: fs.readFileSync(${JSON.stringify(path.join(tlsDir, 'server.key'))}) }, (req, res) => {
  const body = bodies.get(req.url);
  if (!body) return res.writeHead(404).end();
  res.writeHead(200, ['ETag', '"x"', 'Cache-Control', 'no-cache', 'Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(body.length)]);
  res.end(body);
});
if (process.argv[2] === 'child') process.once('message', (m, handle) => server.listen(handle, () => process.send('ready')));
else server.listen(0, '127.0.0.1', () => {
  const child = fork(__filename, ['child']);
  child.send('listen', server);
  child.once('message', () => process.stdout.write(String(server.address().port) + '\\n'));
  process.once('SIGTERM', () => { child.kill(); process.exit(0); });
});
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`bare node server exited with ${code}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { name: 'node:https bare, 2 proc', url: `https://127.0.0.1:${port}/`, pid: child.pid!, stop: () => (child.kill('SIGTERM'), exited) };
}

/** Warm index.json and {version}.json: the documents every `terraform init` asks for. */
export async function benchDocuments(parent: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(parent, 'documents-'));
  const exportDir = path.join(dir, 'export');
  await writeMirrorDirectory(exportDir, [
    { namespace: 'hashicorp', type: 'null', versions: Object.fromEntries(['3.0.0', '3.1.0', '3.2.0', '3.2.1', '3.2.2'].map((v) => [v, ['linux_amd64', 'darwin_arm64']])) },
  ]);
  const docs = ['registry.terraform.io/hashicorp/null/index.json', 'registry.terraform.io/hashicorp/null/3.2.2.json'];
  const s = await startMirror(dir, [exportDir]);
  let bare: Side | undefined;
  try {
    await addNginx(s, docs);
    bare = await startBareNode(s, docs);
    const tool = hasWrk ? `wrk -t${WRK_THREADS}` : 'autocannon';
    console.log(`warm documents over HTTPS, ${CONNECTIONS} connections, ${SECONDS} s per run, median of ${RUNS} alternating runs (${tool}; load ${load()})`);
    for (const doc of docs) {
      const sides = [s.mirror, ...(s.nginx ? [s.nginx] : []), bare];
      const results = new Map<Side, LoadResult[]>(sides.map((side) => [side, []]));
      for (let run = 0; run < RUNS; run++) for (const side of sides) results.get(side)!.push(await generateLoad(side.url + doc));
      const summary = sides.map((side) => {
        const rs = results.get(side)!;
        return { side, rps: median(rs.map((r) => r.rps)), p99: median(rs.map((r) => r.p99)), errors: rs.reduce((n, r) => n + r.errors, 0) };
      });
      for (const r of summary) if (r.errors > 0) throw new Error(`${r.side.name} answered ${doc} with ${r.errors} errors: the figures are not comparable`);
      console.log(`  ${path.basename(doc)}`);
      for (const r of summary) console.log(`    ${r.side.name.padEnd(22)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}`);
      const nginx = summary.find((r) => r.side === s.nginx);
      if (nginx) console.log(`    ratio tfmirror / nginx: ${(summary[0]!.rps / nginx.rps).toFixed(2)}; bare node:https / nginx: ${(summary.at(-1)!.rps / nginx.rps).toFixed(2)}`);
    }
    console.log('');
  } finally {
    await bare?.stop();
    await stopAll(s);
  }
}

/** The archive URL {version}.json hands out for `type`, relative to the server's root. */
async function archivePath(s: Setup, type: string): Promise<string> {
  const doc = `registry.terraform.io/acme/${type}/1.0.0.json`;
  const res = await get(s, s.mirror.url + doc);
  let body = '';
  for await (const chunk of res) body += chunk;
  const rel = (JSON.parse(body) as { archives: Record<string, { url: string }> }).archives['linux_amd64']!.url;
  return new URL(rel, s.mirror.url + doc).pathname.slice(1);
}

/** `n` curl downloads of one URL at once; bytes per second over the wall time, every download checked for its size. */
async function downloadAll(url: string, n: number, size: number, ca: string): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('curl', ['-sS', '--cacert', ca, '-o', '/dev/null', '-w', '%{http_code} %{size_download}', '--resolve', `localhost:${new URL(url).port}:127.0.0.1`, url.replace('//127.0.0.1:', '//localhost:')]);
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d));
        child.stderr.on('data', (d: Buffer) => (out += d));
        child.on('close', (code) => (code === 0 && out.trim() === `200 ${size}` ? resolve() : reject(new Error(`curl ${url}: ${code} ${out}`))));
      }),
    ),
  );
  return (n * size) / ((performance.now() - t0) / 1000);
}

/**
 * RSS and PSS summed over a process and its descendants (Linux /proc), bytes.
 * RSS counts pages the processes share (the node binary, libraries) once per
 * process; PSS splits each shared page between its sharers.
 */
function treeMemory(pid: number): { rss: number; pss: number } {
  const total = { rss: 0, pss: 0 };
  try {
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    total.rss += Number(/^Rss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
    total.pss += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(/\s+/) : []) {
        const c = treeMemory(Number(child));
        total.rss += c.rss;
        total.pss += c.pss;
      }
    }
  } catch {
    // The process ended between reads.
  }
  return total;
}

/** Eight concurrent 200 MB downloads, then the RSS under 32 concurrent 500 MB downloads. */
export async function benchArchives(parent: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(parent, 'archives-'));
  const big = path.join(dir, 'export-big');
  const huge = path.join(dir, 'export-huge');
  const bigZip = await writeBigProviderMirror(big, 200e6, 'big');
  const hugeZip = await writeBigProviderMirror(huge, 500e6, 'huge');
  const bigSize = fs.statSync(bigZip.zip).size;
  const hugeSize = fs.statSync(hugeZip.zip).size;
  const s = await startMirror(dir, [big, huge]);
  try {
    const files = [await archivePath(s, 'big'), await archivePath(s, 'huge')];
    await addNginx(s, files);
    fs.rmSync(big, { recursive: true });
    fs.rmSync(huge, { recursive: true });
    const caFile = s.caFile;
    const sides = [s.mirror, ...(s.nginx ? [s.nginx] : [])];
    // Both read from the page cache: one download each first.
    for (const side of sides) await downloadAll(side.url + files[0], 1, bigSize, caFile);
    const rates = new Map<Side, number[]>(sides.map((side) => [side, []]));
    for (let run = 0; run < RUNS; run++) for (const side of sides) rates.get(side)!.push(await downloadAll(side.url + files[0], 8, bigSize, caFile));
    console.log(`8 concurrent downloads of one ${(bigSize / 1e6).toFixed(0)} MB archive over HTTPS (curl), median of ${RUNS} alternating runs (load ${load()})`);
    const mb = sides.map((side) => median(rates.get(side)!) / 1e6);
    sides.forEach((side, i) => console.log(`  ${side.name.padEnd(22)} ${mb[i]!.toFixed(0).padStart(5)} MB/s`));
    if (mb[1]) console.log(`  ratio tfmirror / nginx: ${(mb[0]! / mb[1]).toFixed(2)}`);

    for (const side of sides) await downloadAll(side.url + files[1], 1, hugeSize, caFile);
    console.log(`32 concurrent downloads of one ${(hugeSize / 1e6).toFixed(0)} MB archive: peak memory of the server's processes, summed (sampled every 50 ms)`);
    const mib = (b: number) => (b / 2 ** 20).toFixed(0).padStart(4);
    for (const side of sides) {
      const idle = treeMemory(side.pid);
      const peak = { ...idle };
      const sampler = setInterval(() => {
        const now = treeMemory(side.pid);
        peak.rss = Math.max(peak.rss, now.rss);
        peak.pss = Math.max(peak.pss, now.pss);
      }, 50);
      const rate = await downloadAll(side.url + files[1], 32, hugeSize, caFile).finally(() => clearInterval(sampler));
      console.log(`  ${side.name.padEnd(22)} RSS idle ${mib(idle.rss)} MiB, peak ${mib(peak.rss)} MiB; PSS idle ${mib(idle.pss)} MiB, peak ${mib(peak.pss)} MiB  (${(rate / 1e6).toFixed(0)} MB/s)`);
    }
    console.log('');
  } finally {
    await stopAll(s);
  }
}
