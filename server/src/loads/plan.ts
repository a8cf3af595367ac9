import type { JobItemKey } from '../db/jobs.js';
import type { ProviderRepository } from '../db/providers.js';
import { InvalidInput, NotFound, Unavailable, UpstreamError } from '../errors.js';
import type { ProviderAddress } from '../providers/address.js';
import { matches } from '../providers/constraints.js';
import { selectVersions, type ProviderDefinition } from '../providers/definitions/index.js';
import { formatPlatform } from '../providers/platform.js';
import type { ProviderRegistry } from '../upstream/registry.js';

export interface LoadPlan {
  items: JobItemKey[];
  /** What was asked for but cannot be loaded: nothing matched, a version or platform the upstream lacks. */
  problems: string[];
  /**
   * What the caller should know although nothing is wrong with the request:
   * a provider resolved against the held versions because its upstream was
   * unreachable. Empty when every list came from the upstream (or none was needed).
   */
  notices: string[];
}

/** What the mirror holds of one provider: version → platforms ("os_arch"). */
export type HeldVersions = (address: ProviderAddress) => ReadonlyMap<string, ReadonlySet<string>>;

export interface PlanOptions {
  signal?: AbortSignal;
  /** Without it every definition is resolved upstream (the planner then knows nothing of what is held). */
  held?: HeldVersions;
}

/** HeldVersions from the provider repository (a few indexed reads per provider). */
export function heldVersionsIn(providers: Pick<ProviderRepository, 'findProvider' | 'listVersions' | 'listPackages'>): HeldVersions {
  return (address) => {
    const held = new Map<string, Set<string>>();
    const row = providers.findProvider(address);
    if (!row) return held;
    for (const version of providers.listVersions(row.id)) {
      held.set(version, new Set(providers.listPackages(row.id, version).map((p) => formatPlatform(p))));
    }
    return held;
  };
}

/** Where a definition's versions were resolved; decides the wording of its problems. */
export interface Offered<V> {
  versions: V;
  from: 'upstream' | 'held';
}
/** A provider's offer: version → platforms. */
type Offer = Offered<Map<string, Set<string>>>;

/**
 * Resolves provider definitions into the exact (source, version, platform)
 * items to fetch. Every entry point that plans (admin load, provider sets,
 * `tfmirror load`) comes through here, with the modules of the same request
 * beside it (planDefinitions in plan-modules.ts); nothing is downloaded.
 *
 * What is held never needs the upstream: a definition whose versions are all
 * exact and all held for its platforms is planned from the database with no
 * request (an air-gapped mirror fed by `import` must satisfy its sets). The
 * rest costs one versions request per provider; when that upstream is
 * unreachable, the definition is resolved against the held versions instead,
 * and a notice says so.
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
  opts: PlanOptions | AbortSignal = {},
): Promise<LoadPlan> {
  const { signal, held } = opts instanceof AbortSignal ? { signal: opts, held: undefined } : opts;
  return prepareProviderPlan(definitions, registry, held)(signal);
}

/** A part of a plan whose upstreams were all looked up; calling it sends the requests. */
export type PreparedPlan = (signal?: AbortSignal) => Promise<LoadPlan>;

/**
 * planLoad's first half, synchronous: which definitions need their upstream,
 * and every upstream looked up (UnknownUpstream thrown here, before any
 * request), so a caller planning providers and modules together refuses an
 * unknown hostname in either before the first request of both.
 */
export function prepareProviderPlan(
  definitions: readonly ProviderDefinition[],
  registry: (hostname: string) => ProviderRegistry,
  held: HeldVersions | undefined,
): PreparedPlan {
  const heldOf = definitions.map((d) => copy(held?.(d.address)));
  const needsUpstream = definitions.map((d, i) => !held || !allExactAndHeld(d, heldOf[i]!));
  const registries = definitions.map((d, i) => (needsUpstream[i] ? registry(d.address.hostname) : undefined));
  return async (signal) => {
    const plan: LoadPlan = { items: [], problems: [], notices: [] };
    const offers = await Promise.all(
      definitions.map(async (d, i): Promise<Offer> => {
        const upstream = registries[i];
        const list = upstream && (async () => {
          const listed = await upstream.listVersions(d.address.namespace, d.address.type, signal);
          return new Map(listed.versions.map((v) => [v.version, new Set(v.platforms.map(formatPlatform))]));
        });
        return offerOf(d.source, list, heldOf[i]!, held !== undefined, plan.notices);
      }),
    );
    const seen = new Set<string>();
    definitions.forEach((def, i) => addItems(plan, seen, def, offers[i]!));
    return plan;
  };
}

function addItems(plan: LoadPlan, seen: Set<string>, def: ProviderDefinition, offer: Offer): void {
  eachOfferedVersion(plan, def, offer, (version) => {
    const platforms = offer.versions.get(version)!;
    for (const p of def.platforms) {
      const platform = formatPlatform(p);
      if (!platforms.has(platform)) {
        plan.problems.push(`${def.source} ${version}: platform ${platform} is not ${offer.from === 'upstream' ? 'offered upstream' : 'held'}`);
        continue;
      }
      const key = `${def.source} ${version} ${platform}`;
      if (seen.has(key)) continue;
      seen.add(key);
      plan.items.push({ source: def.source, version, platform, ...(def.hashes && def.hashes.length > 0 ? { hashes: def.hashes } : {}) });
    }
  });
}

function allExactAndHeld(def: ProviderDefinition, held: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  return def.versions.every((s) => {
    if (s.exact === undefined) return false;
    const platforms = held.get(s.exact);
    return platforms !== undefined && def.platforms.every((p) => platforms.has(formatPlatform(p)));
  });
}

/**
 * One definition's offer, for providers and modules alike: the held versions
 * when it needs no request (`list` undefined), else its upstream's list. An
 * upstream that does not know it is a mistake in the definitions; one that is
 * unreachable falls back to the held versions, when the planner knows them,
 * with a notice.
 */
export async function offerOf<V>(
  source: string,
  list: (() => Promise<V>) | undefined,
  held: V,
  canFallBack: boolean,
  notices: string[],
): Promise<Offered<V>> {
  if (!list) return { versions: held, from: 'held' };
  try {
    return { versions: await list(), from: 'upstream' };
  } catch (err) {
    if (err instanceof NotFound) throw new InvalidInput(err.message);
    if (!canFallBack || !isUnreachable(err)) throw err;
    notices.push(`${source}: upstream unreachable (${(err as Error).message}); resolved against held versions`);
    return { versions: held, from: 'held' };
  }
}

/**
 * Calls `each` with every version selected for a definition that its offer
 * has, newest first; a constraint nothing matches and a selected version the
 * offer lacks are problems (in version order with whatever `each` reports),
 * worded by where the versions came from.
 */
export function eachOfferedVersion(
  plan: LoadPlan,
  def: Pick<ProviderDefinition, 'source' | 'versions' | 'latest'>,
  offer: Offered<{ has(version: string): boolean; keys(): IterableIterator<string> }>,
  each: (version: string) => void,
): void {
  const chosen = selectVersions(def, [...offer.versions.keys()]);
  for (const selector of def.versions) {
    const constraint = selector.constraint;
    if (constraint && !chosen.some((v) => matches(constraint, v))) {
      plan.problems.push(`${def.source}: no ${offer.from} version matches "${selector.text}"`);
    }
  }
  for (const version of chosen) {
    if (offer.versions.has(version)) each(version);
    else plan.problems.push(offer.from === 'upstream' ? `${def.source}: version ${version} is not offered upstream` : `${def.source}: version ${version} is not held`);
  }
}

/** Failures that say nothing about the request: the upstream is down, slow, backing off or broken. */
export function isUnreachable(err: unknown): boolean {
  return err instanceof UpstreamError || err instanceof Unavailable;
}

function copy(m: ReadonlyMap<string, ReadonlySet<string>> | undefined): Map<string, Set<string>> {
  return new Map([...(m ?? new Map<string, ReadonlySet<string>>())].map(([v, ps]) => [v, new Set(ps)]));
}
