import type { ModuleFilter, ModuleRepository, ModuleSummaryRow } from '../../db/modules.js';
import { Unavailable } from '../../errors.js';
import type { ModuleFetcher, ModuleHolder, ModuleRow, ModuleStatus, ModuleVersionRow } from '../../modules/ports.js';
import { parseLocation } from '../../modules/source.js';
import type { ObjectStore } from '../../storage/store.js';

/** What the module services need; `invalidate` drops the mirror's cached documents after a write. */
export interface ModuleServiceDeps {
  modules: ModuleRepository;
  store: ObjectStore;
  invalidate(): void;
  /** Asks the upstream what a git ref points at now (the module fetcher's); without it drift checks answer 503. */
  refs?: Pick<ModuleFetcher, 'resolveRef'>;
  now?: () => number;
}

export type ModuleVersionDetail = ModuleVersionRow & { holders: ModuleHolder[] };

export interface ModuleDetail {
  module: ModuleRow;
  versions: ModuleVersionDetail[];
}

export interface ObjectsOutcome {
  objectsDeleted: number;
  /** Keys whose removal failed: unreferenced leftovers, harmless but worth a look. */
  objectsFailed: string[];
}

export interface DriftOutcome {
  detail: ModuleDetail;
  /** Git versions asked about upstream. */
  checked: number;
  /** Versions whose ref points elsewhere now (they keep serving the pinned commit). */
  drifted: string[];
  /** Versions that could not be checked, or whose ref is gone upstream, with the reason. */
  problems: { version: string; message: string }[];
}

export function listModules(deps: Pick<ModuleServiceDeps, 'modules'>, filter: ModuleFilter): { items: ModuleSummaryRow[]; total: number } {
  // Hostnames are stored lowercase; the query is matched case-insensitively by the repository.
  return deps.modules.listModules({ ...filter, ...(filter.hostname ? { hostname: filter.hostname.toLowerCase() } : {}) });
}

/** The module with every version (newest first) and who holds each. */
export function getModuleDetail(deps: Pick<ModuleServiceDeps, 'modules'>, id: number): ModuleDetail {
  const module = deps.modules.getModule(id);
  const versions = deps.modules.listVersions(id).map((v) => ({ ...v, holders: deps.modules.holdersOf(v.id) }));
  return { module, versions };
}

/** The module routes read the status themselves (blocked → 404, deprecated → Warning); only the cache has to be told. */
export function updateModuleStatus(
  deps: Omit<ModuleServiceDeps, 'store'>,
  id: number,
  status: ModuleStatus,
): { previous: ModuleStatus; detail: ModuleDetail } {
  const previous = deps.modules.getModule(id).status;
  deps.modules.setStatus(id, status);
  deps.invalidate();
  return { previous, detail: getModuleDetail(deps, id) };
}

/**
 * Rows first, in one transaction, then the archives no remaining row names:
 * nothing served can point at an object already gone. No abort signal: once
 * the rows are gone, stopping halfway only leaves litter.
 */
export async function deleteModule(deps: ModuleServiceDeps, id: number): Promise<{ module: ModuleRow } & ObjectsOutcome> {
  const { module, archiveKeys } = deps.modules.deleteModule(id);
  deps.invalidate();
  return { module, ...(await deleteObjects(deps, archiveKeys)) };
}

export async function deleteModuleVersion(
  deps: ModuleServiceDeps,
  id: number,
  version: string,
): Promise<{ module: ModuleRow; version: ModuleVersionRow } & ObjectsOutcome> {
  const module = deps.modules.getModule(id);
  const removed = deps.modules.deleteVersion(id, version);
  deps.invalidate();
  return { module, version: removed.version, ...(await deleteObjects(deps, removed.archiveKeys)) };
}

async function deleteObjects(deps: ModuleServiceDeps, keys: string[]): Promise<ObjectsOutcome> {
  const objectsFailed: string[] = [];
  let objectsDeleted = 0;
  for (const key of keys) {
    // A writer that recorded the same content-addressed key since the commit keeps it.
    if (deps.modules.isArchiveKeyReferenced(key)) continue;
    await deps.store.delete(key).then(
      () => objectsDeleted++,
      () => objectsFailed.push(key),
    );
  }
  return { objectsDeleted, objectsFailed };
}

/**
 * Asks the upstream git server what each git version's ref points at now and
 * records it: a moved tag is drift (the pinned commit keeps being served; the
 * admin decides), a ref back at the pinned commit clears it. Archive versions
 * have no ref to move and are not checked. One version failing to answer is
 * reported and the others are still checked.
 */
export async function checkModuleDrift(deps: Omit<ModuleServiceDeps, 'store'>, id: number, signal: AbortSignal): Promise<DriftOutcome> {
  const { refs } = deps;
  if (!refs) throw new Unavailable('drift checks are not available: this server has no module fetcher');
  const module = deps.modules.getModule(id);
  const now = deps.now ?? Date.now;
  const outcome: Omit<DriftOutcome, 'detail'> = { checked: 0, drifted: [], problems: [] };
  for (const v of deps.modules.listVersions(id)) {
    if (v.sourceKind !== 'git' || v.commit === null) continue;
    signal.throwIfAborted();
    outcome.checked += 1;
    try {
      // Stored locations were checked when ingested (and git ones are absolute), so the base and http rule do not decide here.
      const location = parseLocation(v.location, `https://${module.hostname}/`, { allowHttp: true });
      if (location.kind !== 'git') continue;
      const upstream = await refs.resolveRef(location, signal, module.hostname);
      if (upstream === undefined) {
        deps.modules.setDrift(v.id, null, now());
        outcome.problems.push({ version: v.version, message: `ref ${location.ref ?? 'HEAD'} no longer exists upstream; still serving ${v.commit}` });
        continue;
      }
      const drift = upstream.toLowerCase() === v.commit.toLowerCase() ? null : upstream;
      deps.modules.setDrift(v.id, drift, now());
      if (drift !== null) outcome.drifted.push(v.version);
    } catch (err) {
      if (signal.aborted) throw err;
      outcome.problems.push({ version: v.version, message: err instanceof Error ? err.message : String(err) });
    }
  }
  return { ...outcome, detail: getModuleDetail(deps, id) };
}
