/**
 * Ingest of one ~200 MB provider zip (sha256 + h1 over every inflated entry +
 * the copy into the filesystem store + the row), against `sha256sum` of the
 * same file, alternating in one run, several runs, medians:
 *   - ingestPackage itself (what import, load and pull-through all call);
 *   - `tfmirror import DIR`, the whole command (process start, plan, record).
 * The file is in the page cache for every side alike (the first read warms it).
 * The load average is printed beside the figures: the machine may be shared.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository } from '../../server/src/db/providers.js';
import { ingestPackage } from '../../server/src/packages/ingest.js';
import { FilesystemStore } from '../../server/src/storage/filesystem.js';
import { runCli } from '../fixtures/tfmirror.js';
import { writeBigProviderMirror } from './big-zip.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LIMITS = { zipMaxUncompressedBytes: 2_147_483_648, zipMaxEntries: 10_000, zipMaxRatio: 200, moduleMaxDownloadBytes: 0, moduleMaxTreeBytes: 0, moduleMaxEntries: 0 };

function timeSha256sum(zip: string): number {
  const t0 = performance.now();
  execFileSync('sha256sum', [zip], { stdio: 'ignore' });
  return (performance.now() - t0) / 1000;
}

/**
 * The floor for h1 on this machine: zlib inflating the archive's one entry
 * (streamed, 1 MiB chunks), hashing nothing. h1 needs every inflated byte, and
 * one deflate stream cannot be inflated in parallel.
 */
async function timeInflateOnly(zip: string): Promise<number> {
  const fh = await fs.promises.open(zip, 'r');
  try {
    const header = Buffer.alloc(30);
    await fh.read(header, 0, 30, 0);
    const start = 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    const t0 = performance.now();
    await pipeline(fs.createReadStream('', { fd: fh.fd, start, highWaterMark: 1 << 20, autoClose: false }), zlib.createInflateRaw({ chunkSize: 1 << 20 }).on('error', () => undefined), new Writable({ write: (_c, _e, done) => done() }));
    return (performance.now() - t0) / 1000;
  } finally {
    await fh.close();
  }
}

/**
 * ingestPackage timed in a process of its own, as import and serve run it: in
 * the bench's process, after writing the 200 MB zip, it ran up to 1.7 times slower.
 */
async function timeIngest(dir: string, zip: string, h1: string, run: number): Promise<number> {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--one', dir, zip, h1, String(run)], { encoding: 'utf8' });
  return Number(out.trim());
}

async function ingestOnce(dir: string, zip: string, h1: string, run: number): Promise<number> {
  const root = path.join(dir, `ingest-${run}`);
  const db = openDatabase(path.join(root, 'tfmirror.db'));
  const store = new FilesystemStore({ path: path.join(root, 'storage') });
  await store.init();
  try {
    const t0 = performance.now();
    await ingestPackage(
      { store, providers: new ProviderRepository(db), limits: LIMITS },
      {
        provider: { hostname: 'registry.terraform.io', namespace: 'acme', type: 'big' },
        version: '1.0.0',
        os: 'linux',
        arch: 'amd64',
        filename: path.basename(zip),
        file: zip,
        origin: 'imported',
        expected: { h1: [h1] },
      },
    );
    return (performance.now() - t0) / 1000;
  } finally {
    db.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function timeImportCommand(dir: string, exportDir: string, run: number): Promise<number> {
  const data = path.join(dir, `import-${run}`);
  const t0 = performance.now();
  const res = await runCli(['import', exportDir], { TFM_DATA_DIR: data, TFM_LOG_LEVEL: 'warn' }, { timeoutMs: 600_000 });
  const seconds = (performance.now() - t0) / 1000;
  fs.rmSync(data, { recursive: true, force: true });
  if (res.code !== 0) throw new Error(`import failed: ${res.stdout}${res.stderr}`);
  return seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchIngest(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-bench-ingest-'));
  try {
    const exportDir = path.join(dir, 'export');
    const { zip, uncompressed } = await writeBigProviderMirror(exportDir, 200 * 1e6);
    const doc = JSON.parse(fs.readFileSync(path.join(path.dirname(zip), '1.0.0.json'), 'utf8')) as { archives: { linux_amd64: { hashes: string[] } } };
    const h1 = doc.archives.linux_amd64.hashes[0]!;
    const mb = fs.statSync(zip).size / 1e6;
    timeSha256sum(zip); // warms the page cache for every side
    const sums: number[] = [];
    const ingests: number[] = [];
    const imports: number[] = [];
    const inflates: number[] = [];
    // Alternating, so a burst of load from another process hits each side alike.
    for (let i = 0; i < RUNS; i++) {
      sums.push(timeSha256sum(zip));
      ingests.push(await timeIngest(dir, zip, h1, i));
      imports.push(await timeImportCommand(dir, exportDir, i));
      inflates.push(await timeInflateOnly(zip));
    }
    const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    const line = (name: string, xs: number[]) =>
      `  ${name.padEnd(36)} median ${median(xs).toFixed(2)} s  ${(mb / median(xs)).toFixed(0).padStart(4)} MB/s  (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;
    console.log(`ingest of one ${mb.toFixed(0)} MB provider zip (deflated, ${(uncompressed / 1e6).toFixed(0)} MB unpacked), filesystem store, ${RUNS} runs each (load average ${load})`);
    console.log(line('ingestPackage (sha256, h1, store)', ingests));
    console.log(line('tfmirror import (whole command)', imports));
    console.log(line('sha256sum', sums));
    console.log(line('zlib inflate alone (the h1 floor)', inflates));
    console.log(`  ratio ingestPackage / sha256sum throughput: ${(median(sums) / median(ingests)).toFixed(2)}`);
    console.log(`  ratio tfmirror import / sha256sum throughput: ${(median(sums) / median(imports)).toFixed(2)}  (goal ≥ 0.5)`);
    console.log(`  ratio zlib inflate alone / sha256sum throughput: ${(median(sums) / median(inflates)).toFixed(2)}  (no ingest can beat this)\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const [flag, dir, zip, h1, run] = process.argv.slice(2);
  const work = flag === '--one' ? ingestOnce(dir!, zip!, h1!, Number(run)).then((s) => console.log(s.toFixed(3))) : benchIngest();
  work.catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
