import type { Database } from './database.js';
import type { JobItemKey } from './jobs.js';
import { PackageHolderStatements, type SetIdentity, type SetKind } from './package-holders.js';
import { ReferenceChecks } from './providers.js';
import { Conflict, NotFound } from '../errors.js';

export type ProviderSetKind = SetKind;

export interface ProviderSetName {
  /** The custom resource's Kubernetes namespace (not a provider namespace). */
  namespace: string;
  name: string;
}

/** A set's key: kind, namespace and name (a ProviderSet and a ProviderMirror may share a name). */
export type ProviderSetKey = SetIdentity;

/** Times are epoch milliseconds from the caller's clock. */
export interface ProviderSetRow extends ProviderSetName {
  id: number;
  uid: string;
  kind: ProviderSetKind;
  generation: number;
  spec: unknown;
  lastJobId: number | null;
  problems: string[];
  syncedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface SaveProviderSet extends ProviderSetName {
  uid: string;
  kind: ProviderSetKind;
  generation: number;
  spec: unknown;
  lastJobId: number | null;
  problems: string[];
  syncedAt: number;
}

/** A desired item and whether the mirror holds its package right now. */
export interface DesiredItem extends JobItemKey {
  held: boolean;
}

/** What purging removed from the database: the objects to delete from the store afterwards. */
export interface PurgedSet {
  packages: number;
  /** Object keys of removed rows that no remaining row names. */
  objectKeys: string[];
  /**
   * Versions left without packages (their rows are gone too) and with no load
   * pending or running: their other files (signing keys) may go.
   */
  emptiedVersions: { source: string; version: string }[];
}

/** A set's key with the uid and generation it was last planned for. */
export type SetRecordIdentity = ProviderSetKey & { uid: string; generation: number };

type RawSet = Omit<ProviderSetRow, 'spec' | 'problems'> & { spec: string; problems: string };

const setColumns = `id, namespace, name, uid, kind, generation, spec, last_job_id AS lastJobId, problems,
  synced_at AS syncedAt, created_at AS createdAt, updated_at AS updatedAt`;

// A desired item is held when a package row exists for its provider, version and platform.
// Sources and platforms are stored normalized (lowercase), as the provider tables are.
const heldJoins = `LEFT JOIN providers p ON p.hostname || '/' || p.namespace || '/' || p.type = i.source
  LEFT JOIN provider_versions pv ON pv.provider_id = p.id AND pv.version = i.version
  LEFT JOIN provider_packages pk ON pk.version_id = pv.id AND pk.os || '_' || pk.arch = i.platform`;

/**
 * All SQL about the operator's provider sets and their desired items. What
 * purging a set may remove is decided by package holders (who brought or holds
 * each package): only packages whose last holder was the set, and that no
 * other set desires. Statements are prepared once.
 */
export class ProviderSetRepository {
  private readonly stmts;
  private readonly holders: PackageHolderStatements;
  private readonly checks: ReferenceChecks;

  constructor(private readonly db: Database) {
    this.holders = new PackageHolderStatements(db);
    this.checks = new ReferenceChecks(db);
    this.stmts = {
      find: db.prepare<[string, string, string], RawSet>(
        `SELECT ${setColumns} FROM provider_sets WHERE kind = ? AND namespace = ? AND name = ?`,
      ),
      listIdentities: db.prepare<[], SetRecordIdentity>(
        `SELECT kind, namespace, name, uid, generation FROM provider_sets ORDER BY namespace, name, kind`,
      ),
      findByName: db.prepare<[string, string], RawSet>(
        `SELECT ${setColumns} FROM provider_sets WHERE namespace = ? AND name = ? ORDER BY kind`,
      ),
      deleteSet: db.prepare<[number]>(`DELETE FROM provider_sets WHERE id = ?`),
      // Children explicitly too: correct even on a connection opened without foreign_keys = ON.
      deleteItems: db.prepare<[number]>(`DELETE FROM provider_set_items WHERE set_id = ?`),
      insertSet: db.prepare<Record<string, unknown>, { id: number }>(
        `INSERT INTO provider_sets (namespace, name, uid, kind, generation, spec, last_job_id, problems, synced_at, created_at, updated_at)
         VALUES (@namespace, @name, @uid, @kind, @generation, @spec, @lastJobId, @problems, @syncedAt, @now, @now)
         RETURNING id`,
      ),
      updateSet: db.prepare<Record<string, unknown>>(
        `UPDATE provider_sets SET kind = @kind, generation = @generation, spec = @spec, last_job_id = @lastJobId,
           problems = @problems, synced_at = @syncedAt, updated_at = @now
         WHERE id = @id`,
      ),
      insertItem: db.prepare<[number, string, string, string]>(
        `INSERT INTO provider_set_items (set_id, source, version, platform) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      desiredItems: db.prepare<[number], JobItemKey & { held: number }>(
        `SELECT i.source, i.version, i.platform, pk.id IS NOT NULL AS held
           FROM provider_set_items i ${heldJoins}
          WHERE i.set_id = ? ORDER BY i.source, i.version, i.platform`,
      ),
      // The set holds what it desires and the mirror already has (loads record the rest as they publish).
      holdDesired: db.prepare<{ id: number; kind: string; namespace: string; name: string }>(
        `INSERT INTO package_holders (package_id, holder_kind, set_kind, set_namespace, set_name)
         SELECT pk.id, 'set', @kind, @namespace, @name FROM provider_set_items i ${heldJoins}
          WHERE i.set_id = @id AND pk.id IS NOT NULL
         ON CONFLICT DO NOTHING`,
      ),
      packageToPurge: db.prepare<[number], { objectKey: string; versionId: number }>(
        `SELECT object_key AS objectKey, version_id AS versionId FROM provider_packages WHERE id = ?`,
      ),
      // Any set's desired item naming the package: that set's load may not have recorded its holder yet.
      desiredByASet: db.prepare<[number], { one: number }>(
        `SELECT 1 AS one FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id
           JOIN providers p ON p.id = pv.provider_id
           JOIN provider_set_items i ON i.source = p.hostname || '/' || p.namespace || '/' || p.type
                                    AND i.version = pv.version AND i.platform = pk.os || '_' || pk.arch
          WHERE pk.id = ? LIMIT 1`,
      ),
      deletePackage: db.prepare<[number]>(`DELETE FROM provider_packages WHERE id = ?`),
      emptyVersion: db.prepare<[number], { providerId: number; source: string; version: string; shasumsKey: string | null; signatureKey: string | null }>(
        `SELECT pv.provider_id AS providerId, p.hostname || '/' || p.namespace || '/' || p.type AS source, pv.version,
                pv.shasums_key AS shasumsKey, pv.signature_key AS signatureKey
           FROM provider_versions pv JOIN providers p ON p.id = pv.provider_id
          WHERE pv.id = ? AND NOT EXISTS (SELECT 1 FROM provider_packages pk WHERE pk.version_id = pv.id)`,
      ),
      versionSource: db.prepare<[number], { source: string; version: string }>(
        `SELECT p.hostname || '/' || p.namespace || '/' || p.type AS source, pv.version
           FROM provider_versions pv JOIN providers p ON p.id = pv.provider_id WHERE pv.id = ?`,
      ),
      deleteVersion: db.prepare<[number]>(`DELETE FROM provider_versions WHERE id = ?`),
      // A provider row with a non-default status is an administrator's decision: it stays even when empty.
      deleteEmptyProvider: db.prepare<[number]>(
        `DELETE FROM providers WHERE id = ? AND status = 'active'
            AND NOT EXISTS (SELECT 1 FROM provider_versions WHERE provider_id = providers.id)`,
      ),
    };
  }

  find(key: ProviderSetKey): ProviderSetRow | undefined {
    const row = this.stmts.find.get(key.kind, key.namespace, key.name);
    return row && toRow(row);
  }

  get(key: ProviderSetKey): ProviderSetRow {
    const row = this.find(key);
    if (!row) throw new NotFound(`${key.kind} ${key.namespace}/${key.name} is not known`);
    return row;
  }

  /** Every set's key, uid and generation (no specs): what the operator compares with the cluster on a full resync. */
  listIdentities(): SetRecordIdentity[] {
    return this.stmts.listIdentities.all();
  }

  /**
   * The one set of any kind with this namespace and name (the older API
   * path names no kind). Undefined when none; Conflict when several kinds
   * exist, since answering for one would be a guess.
   */
  findByName(key: ProviderSetName): ProviderSetRow | undefined {
    const rows = this.stmts.findByName.all(key.namespace, key.name);
    if (rows.length > 1) {
      throw new Conflict(
        `${rows.map((r) => `a ${r.kind}`).join(' and ')} are named ${key.namespace}/${key.name}: ` +
          `use /provider-sets/{kind}/${key.namespace}/${key.name}`,
      );
    }
    return rows[0] && toRow(rows[0]);
  }

  /** Runs fn in one IMMEDIATE transaction (repository calls inside it nest as savepoints). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /**
   * Stores the set and replaces its desired items, in one transaction, and
   * records the set as a holder of every desired package already held (so
   * purging another holder keeps them). A different uid under the same key is
   * a recreated object: the old row and its items go, the new one starts afresh.
   */
  save(set: SaveProviderSet, items: readonly JobItemKey[], now: number): ProviderSetRow {
    return this.transaction(() => {
      const existing = this.stmts.find.get(set.kind, set.namespace, set.name);
      if (existing && existing.uid !== set.uid) {
        this.stmts.deleteItems.run(existing.id);
        this.stmts.deleteSet.run(existing.id);
      }
      const params = {
        ...set,
        spec: JSON.stringify(set.spec ?? {}),
        problems: JSON.stringify(set.problems),
        now,
      };
      let id: number;
      if (existing && existing.uid === set.uid) {
        id = existing.id;
        this.stmts.updateSet.run({ ...params, id });
        this.stmts.deleteItems.run(id);
      } else {
        id = this.stmts.insertSet.get(params)!.id;
      }
      for (const i of items) this.stmts.insertItem.run(id, i.source, i.version, i.platform);
      this.stmts.holdDesired.run({ id, kind: set.kind, namespace: set.namespace, name: set.name });
      return toRow(this.stmts.find.get(set.kind, set.namespace, set.name)!);
    });
  }

  /** The set's desired items, in address order, each marked held or not. */
  desiredItems(setId: number): DesiredItem[] {
    return this.stmts.desiredItems.all(setId).map((r) => ({ source: r.source, version: r.version, platform: r.platform, held: r.held === 1 }));
  }

  /**
   * Forgets the set (its desired items with it); false when it was not known.
   * Its holder rows stay: deletionPolicy Retain keeps the content, so purging
   * another set that shares it must not remove it either.
   */
  remove(key: ProviderSetKey): boolean {
    return this.transaction(() => {
      const existing = this.stmts.find.get(key.kind, key.namespace, key.name);
      if (!existing) return false;
      this.stmts.deleteItems.run(existing.id);
      this.stmts.deleteSet.run(existing.id);
      return true;
    });
  }

  /**
   * Removes the set and, in ONE transaction: its holder rows, then the
   * packages left with no holder that no other set desires, then versions and
   * plain providers they leave empty. Each object key the removed rows named
   * is re-checked in the same transaction: a key still named by a remaining
   * row (a concurrent publish of another platform committed first, or shared
   * bytes) is kept, and so is every key of a version some load is about to
   * write. The caller deletes the returned keys after commit, so nothing
   * served can point at a missing object. Undefined when unknown.
   */
  purge(key: ProviderSetKey): PurgedSet | undefined {
    return this.transaction((): PurgedSet | undefined => {
      const existing = this.stmts.find.get(key.kind, key.namespace, key.name);
      if (!existing) return undefined;
      const held = this.holders.releaseSet({ kind: key.kind, namespace: key.namespace, name: key.name });
      this.stmts.deleteItems.run(existing.id);
      this.stmts.deleteSet.run(existing.id);

      const keysByVersion = new Map<number, Set<string>>();
      let packages = 0;
      for (const id of held) {
        if (this.holders.isHeld(id) || this.stmts.desiredByASet.get(id)) continue;
        const pkg = this.stmts.packageToPurge.get(id);
        if (!pkg) continue;
        this.stmts.deletePackage.run(id);
        packages++;
        const keys = keysByVersion.get(pkg.versionId) ?? new Set<string>();
        keys.add(pkg.objectKey);
        keysByVersion.set(pkg.versionId, keys);
      }
      const objectKeys: string[] = [];
      const emptiedVersions: PurgedSet['emptiedVersions'] = [];
      for (const [versionId, keys] of keysByVersion) {
        const { source, version } = this.stmts.versionSource.get(versionId)!;
        const v = this.stmts.emptyVersion.get(versionId);
        if (v) {
          this.stmts.deleteVersion.run(versionId);
          this.stmts.deleteEmptyProvider.run(v.providerId);
          if (v.shasumsKey) keys.add(v.shasumsKey);
          if (v.signatureKey) keys.add(v.signatureKey);
        }
        // A pending or running load of this version will store and record these keys again.
        if (this.checks.isVersionLoadActive(source, version)) continue;
        if (v) emptiedVersions.push({ source, version });
        for (const k of keys) if (!this.checks.isObjectKeyReferenced(k)) objectKeys.push(k);
      }
      return { packages, objectKeys, emptiedVersions };
    });
  }
}

function toRow(r: RawSet): ProviderSetRow {
  return { ...r, spec: JSON.parse(r.spec) as unknown, problems: JSON.parse(r.problems) as string[] };
}
