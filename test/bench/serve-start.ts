/**
 * `serve` start to ready with 10,000 packages held: from spawning
 * `tfmirror serve` to the first 200 from /readyz (polled every 5 ms), over
 * several runs, beside the reference of the same machine in the same run:
 * `node -e` spawning and exiting (the floor any Node command pays).
 * Medians; the load average is printed beside them because the machine is shared.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository } from '../../server/src/db/providers.js';
import { cleanEnv, cliPath } from '../fixtures/tfmirror.js';
import { freePort, readyzStatus } from '../fixtures/readiness.js';

const PACKAGES = 10_000;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

/** 10,000 packages: 2,500 providers × 2 versions × 2 platforms, written straight through the repository. */
function seedPackages(dbFile: string): void {
  const db = openDatabase(dbFile);
  const repo = new ProviderRepository(db);
  db.transaction(() => {
    for (let i = 0; i < PACKAGES / 4; i++) {
      for (const v of ['1.0.0', '1.1.0']) {
        for (const [os_, arch] of [['linux', 'amd64'], ['darwin', 'arm64']] as const) {
          repo.recordPackage({
            provider: { hostname: 'registry.terraform.io', namespace: `ns${i % 50}`, type: `p${i}` },
            version: v,
            origin: 'imported',
            os: os_,
            arch,
            filename: `terraform-provider-p${i}_${v}_${os_}_${arch}.zip`,
            size: 1_000_000 + i,
            sha256: `${i.toString(16).padStart(8, '0')}${v.replace(/\./g, '')}${os_.length}${arch.length}`.padEnd(64, 'a'),
            h1: 'h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
            objectKey: `providers/x/${i}/${v}/${os_}_${arch}`,
          });
        }
      }
    }
  })();
  db.close();
}

/** Milliseconds from spawn to the first 200 from /readyz. */
async function timeServeStart(env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [cliPath, 'serve'], { env: cleanEnv({ ...env, TFM_SERVER_LISTEN: `127.0.0.1:${port}` }), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve exited:\n${stderr}`);
      if (performance.now() - t0 > 30_000) throw new Error(`serve not ready in 30 s:\n${stderr}`);
      if ((await readyzStatus(port, env.TFM_SERVER_TLS === 'true')) === 200) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

function timeNodeFloor(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', () => resolve(performance.now() - t0)));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchServeStart(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-bench-start-'));
  try {
    const env = { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_TLS: 'false', TFM_LOG_LEVEL: 'warn' };
    fs.mkdirSync(env.TFM_DATA_DIR, { recursive: true });
    seedPackages(path.join(env.TFM_DATA_DIR, 'tfmirror.db'));
    const tlsEnv = { ...env, TFM_SERVER_TLS: 'true' };
    await timeServeStart(tlsEnv); // first start creates the CA and certificate under data/tls; later starts reuse them
    const serve: number[] = [];
    const serveTls: number[] = [];
    const floor: number[] = [];
    // Alternating, so a burst of load from another process hits each side alike.
    for (let i = 0; i < RUNS; i++) {
      floor.push(await timeNodeFloor());
      serve.push(await timeServeStart(env));
      serveTls.push(await timeServeStart(tlsEnv));
    }
    const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    console.log(`serve start → first 200 from /readyz, ${PACKAGES.toLocaleString('en')} packages, ${RUNS} runs each (load average ${load})`);
    console.log(`  tfmirror serve (plain HTTP)     median ${median(serve).toFixed(0)} ms  min ${Math.min(...serve).toFixed(0)}  max ${Math.max(...serve).toFixed(0)}`);
    console.log(`  tfmirror serve (TLS, cached CA) median ${median(serveTls).toFixed(0)} ms  min ${Math.min(...serveTls).toFixed(0)}  max ${Math.max(...serveTls).toFixed(0)}`);
    console.log(`  node -e 0 (spawn floor)         median ${median(floor).toFixed(0)} ms`);
    console.log(`  goal < 1000 ms\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  benchServeStart().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
