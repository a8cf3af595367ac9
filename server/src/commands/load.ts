import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/types.js';
import type { JobItem } from '../db/jobs.js';
import { InvalidInput } from '../errors.js';
import type { PoolEvent } from '../jobs/worker-pool.js';
import { heldVersionsIn, type LoadPlan } from '../loads/plan.js';
import { heldModuleVersionsIn, isModuleItem, moduleLookupOf, planDefinitions } from '../loads/plan-modules.js';
import { createLoadWorkers } from '../loads/service.js';
import { parseDefinitions, type Definitions } from '../providers/definitions/index.js';
import { parseConfiguration } from '../providers/definitions/module-calls.js';
import { parsePlatform, type Platform } from '../providers/platform.js';
import { RegistryClients } from '../upstream/registry.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { createProgress, formatBytes, type Progress } from './progress.js';

/**
 * `tfmirror load FILE|DIR…`: definitions (definition files with provider and
 * module blocks, lock files, or a Terraform configuration directory's
 * required_providers and registry module calls) → plan against the
 * upstream and what is held → one job → run to completion here. Exit 0 only
 * when every item succeeded (or was already held) and everything asked for
 * could be planned.
 */
export async function loadCommand(
  files: string[],
  config: Config,
  opts: { dryRun: boolean; platforms?: string[] },
  out: NodeJS.WriteStream = process.stdout,
): Promise<number> {
  if (files.length === 0) throw new InvalidInput('usage: tfmirror load FILE|DIR… [--dry-run] [--platform OS_ARCH…]');
  const platforms = (opts.platforms ?? []).map(readPlatform);
  const definitions = await readDefinitions(files, platforms);

  const runtime = await openRuntime(config);
  try {
    const planning = new RegistryClients(config.upstreams);
    const plan = await planDefinitions(
      definitions,
      { providers: (h) => planning.get(h), modules: moduleLookupOf(planning) },
      { held: heldVersionsIn(runtime.providers), heldModules: heldModuleVersionsIn(runtime.repos.modules) },
    ).finally(() => planning.close());
    for (const n of plan.notices) out.write(`notice   ${n}\n`);
    for (const p of plan.problems) out.write(`problem  ${p}\n`);
    if (opts.dryRun) {
      for (const i of plan.items) out.write(`plan     ${label(i)}\n`);
      const modules = plan.items.filter(isModuleItem).length;
      const counted = modules > 0 ? `${plan.items.length - modules} packages and ${modules} module versions` : `${plan.items.length} packages`;
      out.write(`\n${counted} planned, ${plan.problems.length} problems (dry run: nothing downloaded)\n`);
      return plan.problems.length > 0 ? 1 : 0;
    }
    return await runLoad(runtime, config, files, definitions, plan, out);
  } finally {
    runtime.close();
  }
}

async function runLoad(
  runtime: Runtime,
  config: Config,
  files: string[],
  definitions: Definitions,
  plan: LoadPlan,
  out: NodeJS.WriteStream,
): Promise<number> {
  const progress = createProgress();
  const started = performance.now();
  const jobId = runtime.repos.jobs.createJob(
    {
      kind: 'load',
      requestedBy: 'cli',
      spec: { files, providers: definitions.providers.map((d) => d.source), ...(definitions.modules.length > 0 ? { modules: definitions.modules.map((d) => d.source) } : {}) },
      items: plan.items,
      maxAttempts: config.jobs.maxAttempts,
    },
    Date.now(),
  );
  const tracker = new ProgressTracker(progress, plan.items.length);
  const workers = createLoadWorkers(runtime, config, { jobId, onEvent: (e) => tracker.on(e) });
  try {
    await workers.pool.runUntilIdle(jobId);
  } finally {
    await workers.close();
  }
  progress.done();
  const job = workers.jobs.getJob(jobId);
  const seconds = (performance.now() - started) / 1000;
  const p = job.progress;
  out.write(
    `\njob ${jobId} ${job.status}: ${p.succeeded} loaded, ${p.skipped} already held, ${p.failed} failed` +
      ` (${formatBytes(p.bytesDone)} in ${seconds.toFixed(1)} s, ${(p.bytesDone / 1e6 / seconds).toFixed(1)} MB/s)\n`,
  );
  for (const item of job.items.filter((i) => i.status === 'failed')) out.write(`  failed ${label(item)}: ${item.error}\n`);
  return p.failed > 0 || plan.problems.length > 0 ? 1 : 0;
}

function readPlatform(text: string): Platform {
  try {
    return parsePlatform(text);
  } catch (err) {
    throw new InvalidInput(`--platform ${text}: ${(err as Error).message}`, { key: 'platform' });
  }
}

async function readDefinitions(files: string[], platforms: Platform[]): Promise<Definitions> {
  const all: Definitions = { providers: [], modules: [] };
  for (const file of files) {
    const stat = await fs.promises.stat(file).catch((err: NodeJS.ErrnoException) => {
      throw new InvalidInput(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
    });
    if (stat.isDirectory()) {
      const defs = await parseConfiguration(await readConfiguration(file), platforms, file);
      all.providers.push(...defs.providers);
      all.modules.push(...defs.modules);
      continue;
    }
    const text = await fs.promises.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new InvalidInput(`cannot read ${file}: ${err.message}`);
    });
    const defs = await parseDefinitions(text, { format: 'auto', file, platforms });
    all.providers.push(...defs.providers);
    all.modules.push(...defs.modules);
  }
  return all;
}

/** The root module only, as `terraform init` reads it: *.tf and *.tf.json directly in DIR, in name order. */
async function readConfiguration(dir: string) {
  const names = (await fs.promises.readdir(dir)).filter((n) => n.endsWith('.tf') || n.endsWith('.tf.json')).sort();
  if (names.length === 0) throw new InvalidInput(`${dir}: no *.tf or *.tf.json files: not a Terraform configuration directory`);
  return Promise.all(names.map(async (n) => ({ name: path.join(dir, n), text: await fs.promises.readFile(path.join(dir, n), 'utf8') })));
}

/** "source version platform" for a package, "module source version" for a module (which has no platform). */
function label(i: Pick<JobItem, 'source' | 'version' | 'platform'>): string {
  return isModuleItem(i) ? `module ${i.source} ${i.version}` : `${i.source} ${i.version} ${i.platform}`;
}

/** Turns pool events into one line per finished item and a live status line. */
class ProgressTracker {
  private finished = 0;
  private readonly inFlight = new Map<number, number>();

  constructor(
    private readonly progress: Progress,
    private readonly total: number,
  ) {}

  on(e: PoolEvent): void {
    if (e.type === 'progress') this.inFlight.set(e.item.id, e.bytesDone);
    if (e.type === 'started') this.inFlight.set(e.item.id, 0);
    if (e.type === 'finished') {
      this.inFlight.delete(e.item.id);
      if (e.outcome !== 'retrying' && e.outcome !== 'released' && e.outcome !== 'lost') this.finished++;
      const outcome = e.outcome === 'succeeded' ? 'loaded' : e.outcome === 'skipped' ? 'held' : e.outcome;
      this.progress.finish(`${outcome.padEnd(9)}${label(e.item)}${e.error ? `: ${e.error}` : ''}`);
    }
    const downloading = [...this.inFlight.values()].reduce((a, b) => a + b, 0);
    this.progress.update(`[${this.finished}/${this.total}] ${this.inFlight.size} downloading, ${formatBytes(downloading)} so far`);
  }
}
