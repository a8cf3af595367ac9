import fs from 'node:fs';
import type { Config } from '../config/types.js';
import type { JobItem } from '../db/jobs.js';
import { InvalidInput } from '../errors.js';
import type { PoolEvent } from '../jobs/worker-pool.js';
import { planLoad } from '../loads/plan.js';
import { createLoadWorkers } from '../loads/service.js';
import { parseDefinitions, type ProviderDefinition } from '../providers/definitions/index.js';
import { RegistryClients } from '../upstream/registry.js';
import { openRuntime } from '../runtime.js';
import { createProgress, formatBytes, type Progress } from './progress.js';

/**
 * `tfmirror load FILE…`: definitions → plan against the upstream → one job →
 * run to completion here. Exit 0 only when every item succeeded (or was
 * already held) and everything asked for could be planned.
 */
export async function loadCommand(files: string[], config: Config, opts: { dryRun: boolean }, out: NodeJS.WriteStream = process.stdout): Promise<number> {
  if (files.length === 0) throw new InvalidInput('usage: tfmirror load FILE… [--dry-run]');
  const definitions = await readDefinitions(files);

  const planning = new RegistryClients(config.upstreams);
  const plan = await planLoad(definitions, (h) => planning.get(h)).finally(() => planning.close());
  for (const p of plan.problems) out.write(`problem  ${p}\n`);
  if (opts.dryRun) {
    for (const i of plan.items) out.write(`plan     ${i.source} ${i.version} ${i.platform}\n`);
    out.write(`\n${plan.items.length} packages planned, ${plan.problems.length} problems (dry run: nothing downloaded)\n`);
    return plan.problems.length > 0 ? 1 : 0;
  }

  const runtime = await openRuntime(config);
  const progress = createProgress();
  try {
    const started = performance.now();
    const jobId = runtime.repos.jobs.createJob(
      { kind: 'load', requestedBy: 'cli', spec: { files, providers: definitions.map((d) => d.source) }, items: plan.items, maxAttempts: config.jobs.maxAttempts },
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
  } finally {
    runtime.close();
  }
}

async function readDefinitions(files: string[]): Promise<ProviderDefinition[]> {
  const all: ProviderDefinition[] = [];
  for (const file of files) {
    const text = await fs.promises.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new InvalidInput(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    all.push(...(await parseDefinitions(text, { format: 'auto', file })));
  }
  return all;
}

function label(i: Pick<JobItem, 'source' | 'version' | 'platform'>): string {
  return `${i.source} ${i.version} ${i.platform}`;
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
