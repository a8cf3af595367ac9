import type { JobItemKey, JobRepository, JobStatus } from '../../db/jobs.js';
import { formatHolder } from '../../db/package-holders.js';
import type { ProviderSetKey, ProviderSetName, ProviderSetRepository, ProviderSetRow, SetRecordIdentity } from '../../db/provider-sets.js';
import type { ProviderRepository } from '../../db/providers.js';
import { NotFound } from '../../errors.js';
import type { ModuleRepository } from '../../db/modules.js';
import { heldVersionsIn } from '../../loads/plan.js';
import { heldModuleVersionsIn, isModuleItem, moduleLookupOf, planDefinitions } from '../../loads/plan-modules.js';
import { parseModuleAddress } from '../../modules/address.js';
import { parseSourceAddress } from '../../providers/address.js';
import { parseDefinitions } from '../../providers/definitions/index.js';
import { signingKeysKey } from '../../providers/keys.js';
import { parsePlatform } from '../../providers/platform.js';
import type { ObjectStore } from '../../storage/store.js';
import type { RegistryLookup } from '../jobs/service.js';
import { definitionDocument, type SpecOf } from './definitions.js';
import { MAX_FAILURES } from './schemas.js';

export interface ProviderSetServiceDeps {
  sets: ProviderSetRepository;
  providers: ProviderRepository;
  /** Module versions the sets hold; without it, a set with modules cannot be planned. */
  modules?: Pick<ModuleRepository, 'findModule' | 'findVersion' | 'listVersions' | 'addHolder' | 'removeHolder' | 'isArchiveKeyReferenced'>;
  jobs: JobRepository;
  store: ObjectStore;
  registries: RegistryLookup;
  /** Attempts per item before it fails (config jobs.max_attempts). */
  maxAttempts: number;
  /** Drops the mirror's cached documents after packages are removed. */
  invalidate(): void;
  /** Epoch milliseconds; injectable so tests control timestamps. */
  now?: () => number;
}

export type ApplyRequest = ProviderSetName &
  SpecOf & {
    uid: string;
    generation: number;
    resync?: boolean;
    signal?: AbortSignal;
  };

export interface ItemFailure extends JobItemKey {
  message: string;
}

/** Where a set stands; times are epoch milliseconds (the presenter formats them). */
export interface ProviderSetStatus extends ProviderSetName {
  kind: ProviderSetKey['kind'];
  uid: string;
  observedGeneration: number;
  desired: number;
  ready: number;
  failed: number;
  pending: number;
  jobId: number | null;
  jobStatus: JobStatus | null;
  failures: ItemFailure[];
  /** "source version", sorted and unique. */
  resolvedVersions: string[];
  problems: string[];
  /** Not problems (a set can be Ready with them): e.g. resolved against held versions while the upstream was unreachable. */
  notices: string[];
  lastSyncTime: number | null;
}

export interface RemoveOutcome {
  known: boolean;
  packagesDeleted: number;
  moduleVersionsDeleted: number;
  objectsDeleted: number;
  /** Keys whose removal failed: unreferenced leftovers, harmless but worth a look. */
  objectsFailed: string[];
}

/**
 * The idempotent API the Kubernetes operator drives: each custom resource is
 * planned against the upstream once per generation (or on request, to pick
 * up new releases); its desired items are stored, and only the ones the
 * mirror lacks go into a load job.
 */
export class ProviderSetService {
  /** The last plan's notices per set; kept in memory only: they describe that plan, and the next one replaces them. */
  private readonly notices = new Map<string, string[]>();

  constructor(private readonly deps: ProviderSetServiceDeps) {}

  async apply(req: ApplyRequest): Promise<ProviderSetStatus> {
    const key: ProviderSetKey = { kind: req.kind, namespace: req.namespace, name: req.name };
    if (this.isPlanned(this.deps.sets.find(key), req)) return this.status(key);
    const { text, format } = definitionDocument(req);
    // Whatever the document defines is held by the set: a ProviderSet's HCL may carry module blocks too.
    const definitions = await parseDefinitions(text, { format, file: `${req.kind} ${req.namespace}/${req.name}` });
    const modules = this.deps.modules;
    const plan = await planDefinitions(
      definitions,
      { providers: (h) => this.deps.registries.get(h), ...(modules ? { modules: moduleLookupOf(this.deps.registries) } : {}) },
      { signal: req.signal, held: heldVersionsIn(this.deps.providers), ...(modules ? { heldModules: heldModuleVersionsIn(modules) } : {}) },
    );
    const now = this.now();
    const holder = { kind: 'set', set: key } as const;
    this.deps.sets.transaction(() => {
      // Another request may have stored a newer generation while this one planned.
      if (this.isNewer(this.deps.sets.find(key), req)) return;
      const missing = plan.items.filter((i) => !this.isHeld(i));
      const lastJobId =
        missing.length === 0
          ? null
          : this.deps.jobs.createJob(
              {
                kind: 'load',
                requestedBy: `operator:${req.namespace}/${req.name}`,
                spec: { via: 'provider-set', ...key, uid: req.uid, generation: req.generation, problems: plan.problems },
                items: missing,
                maxAttempts: this.deps.maxAttempts,
                // What this job publishes is recorded as brought by the set, so purging the set can remove it.
                holder: formatHolder(holder),
              },
              now,
            );
      this.notices.set(noticeKey(key), plan.notices);
      this.deps.sets.save(
        { ...key, uid: req.uid, generation: req.generation, spec: req.spec, lastJobId, problems: plan.problems, syncedAt: now },
        plan.items,
        now,
      );
      // As save() does for packages: the set holds the module versions it desires that are held already.
      for (const i of plan.items.filter(isModuleItem)) {
        const version = this.heldModuleVersion(i);
        if (version) this.deps.modules!.addHolder(version.id, holder);
      }
    });
    return this.status(key);
  }

  status(key: ProviderSetKey): ProviderSetStatus {
    return this.statusOf(this.deps.sets.get(key));
  }

  /** The older API path names no kind: the one set of either kind with this name (Conflict when both exist). */
  /** Every set the server holds, by key, uid and generation (the operator's full-resync check). */
  list(): SetRecordIdentity[] {
    return this.deps.sets.listIdentities();
  }

  statusByName(key: ProviderSetName): ProviderSetStatus {
    const row = this.deps.sets.findByName(key);
    if (!row) throw new NotFound(`provider set ${key.namespace}/${key.name} is not known`);
    return this.statusOf(row);
  }

  /** The kind of the one set with this name, for the older API path; undefined when none. */
  kindByName(key: ProviderSetName): ProviderSetKey['kind'] | undefined {
    return this.deps.sets.findByName(key)?.kind;
  }

  private statusOf(row: ProviderSetRow): ProviderSetStatus {
    const job = row.lastJobId === null ? undefined : this.findJob(row.lastJobId);
    const failedItems = new Map<string, string>();
    for (const i of job?.items ?? []) if (i.status === 'failed') failedItems.set(itemKey(i), i.error ?? 'failed');
    const items = this.deps.sets.desiredItems(row.id);
    const failures: ItemFailure[] = [];
    let ready = 0;
    for (const i of items) {
      if (isModuleItem(i) ? this.heldModuleVersion(i) !== undefined : i.held) {
        ready++;
        continue;
      }
      const message = failedItems.get(itemKey(i));
      if (message !== undefined) failures.push({ source: i.source, version: i.version, platform: i.platform, message });
    }
    return {
      kind: row.kind,
      namespace: row.namespace,
      name: row.name,
      uid: row.uid,
      observedGeneration: row.generation,
      desired: items.length,
      ready,
      failed: failures.length,
      pending: items.length - ready - failures.length,
      jobId: job ? job.id : null,
      jobStatus: job ? job.status : null,
      failures: failures.slice(0, MAX_FAILURES),
      resolvedVersions: [...new Set(items.map((i) => `${i.source} ${i.version}`))].sort(),
      problems: row.problems,
      notices: this.notices.get(noticeKey(row)) ?? [],
      lastSyncTime: row.syncedAt,
    };
  }

  /**
   * Forgets the set. With `purge`, the packages and module versions whose
   * last holder was this set go too (rows in one transaction, then objects);
   * anything imported, loaded by an admin, pulled, or held or desired by
   * another set stays. Unknown sets are not an error: deleting twice is
   * deleting once.
   */
  async remove(key: ProviderSetKey, purge: boolean): Promise<RemoveOutcome> {
    this.notices.delete(noticeKey(key));
    const nothing = { packagesDeleted: 0, moduleVersionsDeleted: 0, objectsDeleted: 0, objectsFailed: [] };
    if (!purge) return { known: this.deps.sets.remove(key), ...nothing };
    const modules = this.deps.modules;
    // One transaction: the set's items go first, so its module versions count as desired by no one.
    const result = this.deps.sets.transaction(() => {
      const purged = this.deps.sets.purge(key);
      return purged && { purged, modules: modules ? modules.removeHolder(key) : { versions: [], archiveKeys: [] } };
    });
    if (!result) return { known: false, ...nothing };
    const { purged } = result;
    if (purged.packages > 0 || result.modules.versions.length > 0) this.deps.invalidate();
    // Only keys the removed rows named, never a listing of a key prefix: a
    // concurrent load may have stored an object there that no row names yet.
    const keys = new Set(purged.objectKeys);
    for (const v of purged.emptiedVersions) keys.add(signingKeysKey(parseSourceAddress(v.source), v.version));
    const objectsFailed: string[] = [];
    let objectsDeleted = 0;
    for (const k of result.modules.archiveKeys) keys.add(k);
    for (const k of keys) {
      // A writer that recorded the same key since the commit (an import of the same bytes) keeps it.
      if (this.deps.providers.isObjectKeyReferenced(k) || modules?.isArchiveKeyReferenced(k)) continue;
      await this.deps.store.delete(k).then(
        () => objectsDeleted++,
        () => objectsFailed.push(k),
      );
    }
    return { known: true, packagesDeleted: purged.packages, moduleVersionsDeleted: result.modules.versions.length, objectsDeleted, objectsFailed };
  }

  /** This uid's generation was already planned (or a newer one was), and no resync is asked for. */
  private isPlanned(row: ProviderSetRow | undefined, req: ApplyRequest): boolean {
    if (!row || row.uid !== req.uid) return false;
    return row.generation > req.generation || (row.generation === req.generation && !req.resync);
  }

  private isNewer(row: ProviderSetRow | undefined, req: ApplyRequest): boolean {
    return row !== undefined && row.uid === req.uid && row.generation > req.generation;
  }

  private isHeld(i: JobItemKey): boolean {
    if (isModuleItem(i)) return this.heldModuleVersion(i) !== undefined;
    const p = parsePlatform(i.platform);
    return this.deps.providers.findPackage(parseSourceAddress(i.source), i.version, p.os, p.arch) !== undefined;
  }

  /** The held version row of a module item, if any. */
  private heldModuleVersion(i: JobItemKey): { id: number } | undefined {
    const modules = this.deps.modules;
    const row = modules?.findModule(parseModuleAddress(i.source));
    return row && modules!.findVersion(row.id, i.version);
  }

  /** The job may have been pruned since; the set then simply has no job to report. */
  private findJob(id: number) {
    try {
      return this.deps.jobs.getJob(id);
    } catch (err) {
      if (err instanceof NotFound) return undefined;
      throw err;
    }
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

function noticeKey(k: ProviderSetKey): string {
  return `${k.kind} ${k.namespace}/${k.name}`;
}

function itemKey(i: JobItemKey): string {
  return `${i.source} ${i.version} ${i.platform}`;
}

