import type { JobItemKey } from '../db/jobs.js';
import { matches } from '../providers/constraints.js';
import { selectVersions, type ProviderDefinition } from '../providers/definitions/index.js';
import { formatPlatform } from '../providers/platform.js';
import type { ProviderRegistry } from '../upstream/registry.js';

export interface LoadPlan {
  items: JobItemKey[];
  /** What was asked for but cannot be loaded: nothing matched, a version or platform the upstream lacks. */
  problems: string[];
}

/**
 * Resolves definitions against the upstream's version lists into the exact
 * (source, version, platform) items to fetch. One versions request per
 * provider; nothing is downloaded.
 */
export async function planLoad(
  definitions: readonly ProviderDefinition[],
  registry: (hostname: string) => ProviderRegistry,
  signal?: AbortSignal,
): Promise<LoadPlan> {
  const plan: LoadPlan = { items: [], problems: [] };
  const seen = new Set<string>();
  const lists = await Promise.all(
    definitions.map((d) => registry(d.address.hostname).listVersions(d.address.namespace, d.address.type, signal)),
  );
  definitions.forEach((def, i) => {
    const offered = new Map(lists[i]!.versions.map((v) => [v.version, new Set(v.platforms.map(formatPlatform))]));
    const chosen = selectVersions(def, [...offered.keys()]);
    for (const selector of def.versions) {
      const constraint = selector.constraint;
      if (constraint && !chosen.some((v) => matches(constraint, v))) {
        plan.problems.push(`${def.source}: no upstream version matches "${selector.text}"`);
      }
    }
    for (const version of chosen) {
      const platforms = offered.get(version);
      if (!platforms) {
        plan.problems.push(`${def.source}: version ${version} is not offered upstream`);
        continue;
      }
      for (const p of def.platforms) {
        const platform = formatPlatform(p);
        if (!platforms.has(platform)) {
          plan.problems.push(`${def.source} ${version}: platform ${platform} is not offered upstream`);
          continue;
        }
        const key = `${def.source} ${version} ${platform}`;
        if (seen.has(key)) continue;
        seen.add(key);
        plan.items.push({ source: def.source, version, platform });
      }
    }
  });
  return plan;
}
