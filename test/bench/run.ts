/**
 * `npm run bench`: measured figures with a reference from the same run.
 *   1. warm index.json requests/s: the mirror vs nginx serving the same bytes
 *      as a static file (or, without nginx, a bare node:http server).
 *   2. import throughput for a ~200 MB provider zip vs `sha256sum` of the file.
 *   then load, admin, operator, and pull-through (cold init through the mirror
 *   vs straight from a slow upstream; 50 concurrent cold clients on one archive),
 *   and ui-dashboard (the admin UI's dashboard in Chromium with 1,000 providers; the bundle gzipped),
 *   and module-init (terraform init of 5 module calls: cold and warm through the mirror vs straight from upstream).
 * BENCH_ONLY=pull-through,load runs only the named ones.
 * Everything stays on loopback. No pass/fail: numbers for humans.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { writeMirrorDirectory } from '../fixtures/mirror-directory.js';
import { runCli, startServe } from '../fixtures/tfmirror.js';
import { writeBigProviderMirror } from './big-zip.js';
import { benchAdmin } from './admin.js';
import { benchLoad } from './load.js';
import { benchOperator } from './operator.js';
import { benchPullThrough } from './pull-through.js';
import { benchUiDashboard } from './ui-dashboard.js';
import { benchModuleInit } from './module-init.js';
import { benchServeStart } from './serve-start.js';
import { benchIngest } from './ingest.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-bench-'));
  try {
    console.log(`# terraform-mirror bench (${os.cpus().length} cores, node ${process.version})\n`);
    const benches: [string, () => Promise<void>][] = [
      ['index', () => benchIndex(dir)],
      ['import', () => benchImport(dir)],
      ['load', benchLoad],
      ['admin', benchAdmin],
      ['operator', benchOperator],
      ['pull-through', benchPullThrough],
      ['ui-dashboard', benchUiDashboard],
      ['module-init', benchModuleInit],
      ['serve-start', benchServeStart],
      ['ingest', benchIngest],
    ];
    const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
    for (const [name, run] of benches) if (!only || only.includes(name)) await run();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function load(url: string): Promise<{ rps: number; p99: number; errors: number }> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

async function benchIndex(dir: string): Promise<void> {
  const env = { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_SERVER_TLS: 'false', TFM_LOG_LEVEL: 'warn' };
  await writeMirrorDirectory(path.join(dir, 'export'), [
    { namespace: 'hashicorp', type: 'null', versions: Object.fromEntries(['3.0.0', '3.1.0', '3.2.0', '3.2.1', '3.2.2'].map((v) => [v, ['linux_amd64']])) },
  ]);
  await runCli(['import', path.join(dir, 'export')], env);
  const server = await startServe(env);
  const indexPath = 'registry.terraform.io/hashicorp/null/index.json';
  const body = Buffer.from(await (await fetch(server.url + indexPath)).arrayBuffer());

  const staticRoot = path.join(dir, 'static');
  fs.mkdirSync(path.join(staticRoot, path.dirname(indexPath)), { recursive: true });
  // nginx workers run as an unprivileged user: let them read the temp tree.
  for (let p = path.join(staticRoot, path.dirname(indexPath)); p.startsWith(dir); p = path.dirname(p)) fs.chmodSync(p, 0o755);
  fs.writeFileSync(path.join(staticRoot, indexPath), body);
  const reference = await startReference(staticRoot, dir);
  try {
    const check = Buffer.from(await (await fetch(`${reference.url}${indexPath}`)).arrayBuffer());
    if (!check.equals(body)) throw new Error(`${reference.name} does not serve the same bytes`);
    const mirror = await load(server.url + indexPath);
    const ref = await load(`${reference.url}${indexPath}`);
    console.log(`warm index.json, ${connections} connections, ${seconds} s each, plain HTTP on loopback`);
    console.log(`  tfmirror serve     ${mirror.rps.toFixed(0).padStart(7)} req/s  p99 ${mirror.p99} ms  errors ${mirror.errors}`);
    console.log(`  ${reference.name.padEnd(18)} ${ref.rps.toFixed(0).padStart(7)} req/s  p99 ${ref.p99} ms  errors ${ref.errors}`);
    console.log(`  ratio tfmirror / ${reference.name}: ${(mirror.rps / ref.rps).toFixed(2)}\n`);
  } finally {
    reference.stop();
    await server.stop();
  }
}

/** nginx when installed (one worker, like the single Node process), otherwise a bare node:http server. */
async function startReference(root: string, dir: string): Promise<{ name: string; url: string; stop(): void }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const nginx = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/opt/homebrew/bin/nginx'].find((p) => fs.existsSync(p));
  let child: ChildProcess;
  let name: string;
  if (nginx) {
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(
      conf,
      `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log stderr error;
events { worker_connections 1024; }
http { access_log off; default_type application/json; client_body_temp_path ${dir}/nginx-tmp;
  server { listen 127.0.0.1:${port}; root ${root}; } }\n`,
    );
    child = spawn(nginx, ['-c', conf, '-p', dir], { stdio: 'inherit' });
    name = 'nginx (1 worker)';
  } else {
    const script = `const http=require('http'),fs=require('fs'),path=require('path');
http.createServer((q,s)=>fs.readFile(path.join(${JSON.stringify(root)},q.url),(e,b)=>{if(e){s.statusCode=404;return s.end()}s.setHeader('content-type','application/json');s.end(b)})).listen(${port},'127.0.0.1')`;
    child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
    name = 'node:http static';
  }
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(url);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { name, url, stop: () => child.kill('SIGTERM') };
}

async function benchImport(dir: string): Promise<void> {
  const exportDir = path.join(dir, 'big-export');
  const { zip, uncompressed } = await writeBigProviderMirror(exportDir, 200 * 1e6);
  const size = fs.statSync(zip).size;
  const mb = size / 1e6;

  const t0 = performance.now();
  execFileSync('sha256sum', [zip], { stdio: 'ignore' });
  const shaSeconds = (performance.now() - t0) / 1000;

  const env = { TFM_DATA_DIR: path.join(dir, 'import-data'), TFM_LOG_LEVEL: 'warn' };
  const t1 = performance.now();
  const res = await runCli(['import', exportDir], env, { timeoutMs: 600_000 });
  const importSeconds = (performance.now() - t1) / 1000;
  if (res.code !== 0) throw new Error(`import failed: ${res.stdout}${res.stderr}`);

  console.log(`import of one ${mb.toFixed(0)} MB provider zip (deflated, ${(uncompressed / 1e6).toFixed(0)} MB unpacked), filesystem store`);
  console.log(`  tfmirror import  ${importSeconds.toFixed(2)} s  ${(mb / importSeconds).toFixed(0)} MB/s (whole command: start, verify h1, sha256, store, record)`);
  console.log(`  sha256sum        ${shaSeconds.toFixed(2)} s  ${(mb / shaSeconds).toFixed(0)} MB/s`);
  console.log(`  ratio import / sha256sum throughput: ${(shaSeconds / importSeconds).toFixed(2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
