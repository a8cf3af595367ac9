/**
 * Planning module definitions, beside planLoad for providers: each module's
 * versions resolved against its upstream's module version list into job items
 * `{source: "host/ns/name/system", version, platform: ""}` (a module has no
 * platform; the empty platform is what tells the workers an item is a module).
 */

import type { JobItemKey } from '../db/jobs.js';
import { InvalidInput } from '../errors.js';
import type { ModuleAddress, ModuleUpstream, ModuleVersionRow } from '../modules/ports.js';
import type { Definitions, ModuleDefinition } from '../providers/definitions/index.js';
import { isValidVersion } from '../providers/version.js';
import type { ProviderRegistry } from '../upstream/registry.js';
import { eachOfferedVersion, offerOf, prepareProviderPlan, type HeldVersions, type LoadPlan, type Offered, type PreparedPlan } from './plan.js';

/** A module item's platform: none. */
export const MODULE_PLATFORM = '';

export function isModuleItem(item: Pick<JobItemKey, 'platform'>): boolean {
  return item.platform === MODULE_PLATFORM;
}

/** The module upstream by hostname (RegistryClients.modules); throws UnknownUpstream for a hostname without one. */
export type ModuleVersionsLookup = (hostname: string) => Pick<ModuleUpstream, 'listVersions'>;

/** The module lookup of an upstream registry set (RegistryClients), when it serves modules. */
export function moduleLookupOf(registries: { modules?(hostname: string): Pick<ModuleUpstream, 'listVersions'> }): ModuleVersionsLookup | undefined {
  return registries.modules ? (h) => registries.modules!(h) : undefined;
}

/** The versions of a module the mirror holds. */
export type HeldModuleVersions = (address: ModuleAddress) => ReadonlySet<string>;

/** HeldModuleVersions from the module repository (two indexed reads per module). */
export function heldModuleVersionsIn(modules: {
  findModule(a: ModuleAddress): { id: number } | undefined;
  listVersions(moduleId: number): Pick<ModuleVersionRow, 'version'>[];
}): HeldModuleVersions {
  return (address) => {
    const row = modules.findModule(address);
    return new Set(row ? modules.listVersions(row.id).map((v) => v.version) : []);
  };
}

export interface DefinitionUpstreams {
  providers: (hostname: string) => ProviderRegistry;
  /** Needed only when there are module definitions. */
  modules?: ModuleVersionsLookup;
}

export interface PlanDefinitionsOptions {
  signal?: AbortSignal;
  held?: HeldVersions;
  heldModules?: HeldModuleVersions;
}

/**
 * Providers and modules of one request in one plan. Every upstream of both is
 * looked up before the first request, so a hostname without an upstream
 * refuses the whole plan by name with no network call; then all version lists
 * are asked for at once. Items: providers first, then modules.
 */
export async function planDefinitions(defs: Definitions, upstreams: DefinitionUpstreams, opts: PlanDefinitionsOptions = {}): Promise<LoadPlan> {
  const modules = prepareModulePlan(defs.modules, upstreams.modules, opts.heldModules);
  const providers = prepareProviderPlan(defs.providers, upstreams.providers, opts.held);
  const [p, m] = await Promise.all([providers(opts.signal), modules(opts.signal)]);
  return { items: [...p.items, ...m.items], problems: [...p.problems, ...m.problems], notices: [...p.notices, ...m.notices] };
}

/**
 * Like the provider plan: a module whose versions are all exact and all held
 * needs no request (an air-gapped mirror satisfies its sets); the rest costs
 * one versions request per module, resolved against the held versions with a
 * notice when that upstream is unreachable. A module the upstream does not
 * have is a mistake in the definitions (InvalidInput).
 */
export function prepareModulePlan(
  definitions: readonly ModuleDefinition[],
  lookup: ModuleVersionsLookup | undefined,
  held: HeldModuleVersions | undefined,
): PreparedPlan {
  const heldOf = definitions.map((d) => new Set(held?.(d.address) ?? []));
  const needsUpstream = definitions.map((d, i) => !held || !d.versions.every((s) => s.exact !== undefined && heldOf[i]!.has(s.exact)));
  if (needsUpstream.some(Boolean) && !lookup) throw new InvalidInput('this server cannot plan module definitions: no module upstream is configured');
  const upstreams = definitions.map((d, i) => (needsUpstream[i] ? lookup!(d.address.hostname) : undefined));
  return async (signal) => {
    const plan: LoadPlan = { items: [], problems: [], notices: [] };
    const offers = await Promise.all(
      definitions.map(async (d, i): Promise<Offered<Set<string>>> => {
        const upstream = upstreams[i];
        const list = upstream && (async () => new Set((await upstream.listVersions(d.address, signal)).filter(isValidVersion)));
        return offerOf(d.source, list, heldOf[i]!, held !== undefined, plan.notices);
      }),
    );
    const seen = new Set<string>();
    definitions.forEach((def, i) => addModuleItems(plan, seen, def, offers[i]!));
    return plan;
  };
}

function addModuleItems(plan: LoadPlan, seen: Set<string>, def: ModuleDefinition, offer: Offered<Set<string>>): void {
  eachOfferedVersion(plan, def, offer, (version) => {
    const key = `${def.source} ${version}`;
    if (seen.has(key)) return;
    seen.add(key);
    plan.items.push({ source: def.source, version, platform: MODULE_PLATFORM });
  });
}
