import type { Config } from '../config/types.js';
import { planImport, runImport, type ImportItem } from '../imports/mirror-directory.js';
import { openRuntime } from '../runtime.js';
import { createProgress, formatBytes } from './progress.js';

export interface ImportOptions {
  /** `--trust-unhashed`: import archives no {version}.json gives a hash for. */
  trustUnhashed?: boolean;
}

/**
 * `tfmirror import DIR [--trust-unhashed]`. Returns the exit code: 0 when every
 * archive was imported or already held, 1 when anything was refused.
 */
export async function importCommand(dir: string, config: Config, opts: ImportOptions = {}, out: NodeJS.WriteStream = process.stdout): Promise<number> {
  const plan = planImport(dir, { trustUnhashed: opts.trustUnhashed ?? false });
  const runtime = await openRuntime(config);
  const progress = createProgress();
  const label = (i: ImportItem) => `${i.provider.hostname}/${i.provider.namespace}/${i.provider.type} ${i.version} ${i.platform}`;
  try {
    const summary = await runImport(
      plan,
      { store: runtime.store, providers: runtime.providers, limits: config.limits },
      {
        // Each archive is read about twice (checksum, then store): show the checksum pass.
        itemStarted: (item, i, total) => progress.start(label(item), i, total, item.size),
        bytes: (n) => progress.advance(n),
        itemFinished: (item, outcome, detail) =>
          progress.finish(`${outcome.padEnd(9)} ${label(item)} (${formatBytes(item.size)})${detail ? `: ${detail}` : ''}`),
      },
    );
    progress.done();
    out.write(
      `\n${summary.imported} imported, ${summary.unchanged} already held, ${summary.refused.length} refused` +
        ` (${formatBytes(summary.bytes)} read in ${summary.seconds.toFixed(1)} s)\n`,
    );
    if (summary.trustedUnhashed > 0) out.write(`  ${summary.trustedUnhashed} imported with no hash to check them against (--trust-unhashed)\n`);
    for (const r of summary.refused) out.write(`  refused ${r.where}: ${r.reason}\n`);
    return summary.refused.length > 0 ? 1 : 0;
  } finally {
    runtime.close();
  }
}
