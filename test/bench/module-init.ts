/**
 * `terraform init` of a root module with 5 registry module calls (3 git:
 * two tags with //subdir and a default branch; 2 tar.gz with //dir), in one
 * run, everything on loopback over HTTPS:
 *   - cold through the mirror (the `host` form; nothing held, so the mirror
 *     pulls each package through: registry → git fetch / download → pack),
 *   - warm through the mirror (a clean directory; everything held),
 *   - straight from the fake upstream (Terraform's own git clones and downloads).
 * Warm and straight are medians of BENCH_MODULE_RUNS (3). Numbers for humans, never asserted.
 */
import os from 'node:os';
import { MODULES, hasGit, mainTf, startModuleWorld } from '../fixtures/module-world.js';
import { findTerraform, terraform } from '../fixtures/terraform.js';

const CALLS = { a: MODULES.git, b: MODULES.gitSameTree, c: MODULES.gitRoot, d: MODULES.tar, e: MODULES.tarAgain };

export async function benchModuleInit(): Promise<void> {
  if (!findTerraform() || !hasGit()) {
    console.log('module-init: skipped (terraform or git is not on PATH)\n');
    return;
  }
  const runs = Number(process.env.BENCH_MODULE_RUNS ?? 3);
  const w = await startModuleWorld();
  try {
    let n = 0;
    const init = async (rc: string, via: 'mirror' | 'upstream'): Promise<number> => {
      const { cwd, env } = w.workspace(`bench-${n++}`, mainTf(CALLS), rc, via);
      const t0 = performance.now();
      const res = await terraform(['init', '-no-color', '-input=false', '-backend=false'], { cwd, env });
      const seconds = (performance.now() - t0) / 1000;
      if (res.code !== 0) throw new Error(`terraform init (${via}) failed:\n${res.output}`);
      return seconds;
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    // Straight from upstream first, so the mirror's cold run does not find the servers' caches warmer than Terraform did.
    const straight: number[] = [];
    for (let i = 0; i < runs; i++) straight.push(await init(w.upstreamRc, 'upstream'));
    const cold = await init(w.hostsRc, 'mirror');
    const warm: number[] = [];
    for (let i = 0; i < runs; i++) warm.push(await init(w.hostsRc, 'mirror'));
    const load = os.loadavg()[0]!.toFixed(1);
    console.log(`terraform init, 5 module calls (3 git, 2 tar.gz), HTTPS on loopback (load average ${load})`);
    console.log(`  through the mirror, cold (pulls through)  ${cold.toFixed(2)} s`);
    console.log(`  through the mirror, warm (median of ${runs})     ${median(warm).toFixed(2)} s   [${warm.map((x) => x.toFixed(2)).join(', ')}]`);
    console.log(`  straight from upstream (median of ${runs})      ${median(straight).toFixed(2)} s   [${straight.map((x) => x.toFixed(2)).join(', ')}]`);
    console.log(`  ratio warm mirror / straight: ${(median(warm) / median(straight)).toFixed(2)}\n`);
  } finally {
    await w.close();
  }
}
