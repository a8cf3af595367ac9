/**
 * Load throughput from the fake upstream on loopback (HTTPS, real signatures):
 * 20 packages with concurrency 1 and 4, and the peak RSS of `tfmirror load`
 * while it loads one 200 MB package (streaming: it must not grow with size).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { loadSetup } from '../fixtures/load-setup.js';
import { cleanEnv, cliPath } from '../fixtures/tfmirror.js';

const MB = 1e6;

async function timedLoad(env: Record<string, string>, defs: string): Promise<{ seconds: number; peakRssMb: number; stdout: string }> {
  const started = performance.now();
  // /usr/bin/time would do, but is not everywhere: sample the child's RSS from /proc instead.
  const child = spawn(process.execPath, [cliPath, 'load', defs], { env: cleanEnv(env) });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.resume();
  let peak = 0;
  const sample = setInterval(() => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, kb / 1024);
    } catch {
      // exited
    }
  }, 20);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(sample);
  if (code !== 0) throw new Error(`load failed (${code}): ${stdout}`);
  return { seconds: (performance.now() - started) / 1000, peakRssMb: peak, stdout };
}

export async function benchLoad(): Promise<void> {
  const each = 5 * 1024 * 1024;
  const specs = Array.from({ length: 20 }, (_, i) => ({ namespace: 'acme', type: `p${i}`, version: '1.0.0', platform: 'linux_amd64', sizeBytes: each }));
  const s = await loadSetup([], { bigPackages: specs });
  try {
    const text = `providers:\n${specs.map((p) => `  - source: acme/${p.type}\n    versions: ["1.0.0"]\n    platforms: [linux_amd64]\n`).join('')}`;
    const defs = s.writeDefinitions('twenty.yaml', text);
    console.log(`load of 20 packages x ${(each / MB).toFixed(1)} MB from the fake upstream (HTTPS + GPG on loopback)`);
    const results: Record<string, number> = {};
    for (const concurrency of [1, 4]) {
      fs.rmSync(`${s.dir}/data`, { recursive: true, force: true });
      const r = await timedLoad({ ...s.env, TFM_JOBS_CONCURRENCY: String(concurrency) }, defs);
      results[concurrency] = r.seconds;
      console.log(`  concurrency ${concurrency}: ${r.seconds.toFixed(2)} s  ${(20 / r.seconds).toFixed(1)} items/s  ${((20 * each) / MB / r.seconds).toFixed(1)} MB/s`);
    }
    console.log(`  speed-up 4 vs 1: ${(results[1]! / results[4]!).toFixed(2)}x\n`);
  } finally {
    await s.close();
  }

  for (const size of [20 * MB, 200 * MB]) {
    const big = await loadSetup([], { bigPackage: { namespace: 'acme', type: 'big', version: '1.0.0', platform: 'linux_amd64', sizeBytes: size } });
    try {
      const defs = big.writeDefinitions('big.yaml', 'providers:\n  - source: acme/big\n    versions: ["1.0.0"]\n    platforms: [linux_amd64]\n');
      const r = await timedLoad(big.env, defs);
      console.log(`load of one ${(size / MB).toFixed(0)} MB package: ${r.seconds.toFixed(2)} s, ${(size / MB / r.seconds).toFixed(1)} MB/s, peak RSS ${r.peakRssMb.toFixed(0)} MB`);
    } finally {
      await big.close();
    }
  }
  console.log('');
}
