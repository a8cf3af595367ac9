import type { JobItemKey } from '../db/jobs.js';
import { InvalidInput, NotFound } from '../errors.js';
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
 * provider; nothing is downloaded. Every entry point that plans (admin load,
 * provider sets, `tfmirror load`) comes through here.
 *
 * All registries are looked up before the first request: a hostname without
 * an upstream (RegistryClients.get throws UnknownUpstream) refuses the whole
 * plan by name with no network call at all, not after the other hosts were
 * asked. A provider the upstream does not have is a mistake in the
 * definitions (InvalidInput), not a missing resource of ours.
 */
export async function planLoad(
  definitions: readonly ProviderDefinition[],
  registry: (hostname: string) => ProviderRegistry,
  signal?: AbortSignal,
): Promise<LoadPlan> {
  const plan: LoadPlan = { items: [], problems: [] };
  const seen = new Set<string>();
  const registries = definitions.map((d) => registry(d.address.hostname));
  const lists = await Promise.all(
    definitions.map((d, i) => registries[i]!.listVersions(d.address.namespace, d.address.type, signal).catch(missAsInvalid)),
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

function missAsInvalid(err: unknown): never {
  if (err instanceof NotFound) throw new InvalidInput(err.message);
  throw err;
}
