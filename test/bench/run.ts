/**
 * `npm run bench`: measured figures with a reference from the same run.
 *   1. documents: warm index.json and {version}.json over HTTPS, 64 connections, vs nginx
 *      (auto workers, TLS) on the same bytes; archives: 8 concurrent 200 MB downloads vs
 *      nginx, and the server's peak RSS under 32 concurrent 500 MB downloads (serving.ts).
 *   2. import throughput for a ~200 MB provider zip vs `sha256sum` of the file.
 *   then load, admin, operator, and pull-through (cold init through the mirror
 *   vs straight from a slow upstream; 50 concurrent cold clients on one archive),
 *   and ui-dashboard (the admin UI's dashboard in Chromium with 1,000 providers; the bundle gzipped),
 *   and module-init (terraform init of 5 module calls: cold and warm through the mirror vs straight from upstream).
 * BENCH_ONLY=pull-through,load runs only the named ones.
 * Everything stays on loopback. No pass/fail: numbers for humans.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../fixtures/tfmirror.js';
import { writeBigProviderMirror } from './big-zip.js';
import { benchAdmin } from './admin.js';
import { benchLoad } from './load.js';
import { benchOperator } from './operator.js';
import { benchPullThrough } from './pull-through.js';
import { benchUiDashboard } from './ui-dashboard.js';
import { benchModuleInit } from './module-init.js';
import { benchServeStart } from './serve-start.js';
import { benchIngest } from './ingest.js';
import { benchArchives, benchDocuments } from './serving.js';


async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-bench-'));
  try {
    console.log(`# terraform-mirror bench (${os.cpus().length} cores, node ${process.version})\n`);
    const benches: [string, () => Promise<void>][] = [
      ['documents', () => benchDocuments(dir)],
      ['archives', () => benchArchives(dir)],
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
