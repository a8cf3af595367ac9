import type { Database } from './database.js';
import type { JobItemKey } from './jobs.js';
import { NotFound } from '../errors.js';

export type ProviderSetKind = 'ProviderSet' | 'ProviderMirror';

export interface ProviderSetName {
  /** The custom resource's Kubernetes namespace (not a provider namespace). */
  namespace: string;
  name: string;
}

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
  /** Versions left without packages (their rows are gone too): everything under their key prefix may go. */
  emptiedVersions: { source: string; version: string }[];
}

type RawSet = Omit<ProviderSetRow, 'spec' | 'problems'> & { spec: string; problems: string };

const setColumns = `id, namespace, name, uid, kind, generation, spec, last_job_id AS lastJobId, problems,
  synced_at AS syncedAt, created_at AS createdAt, updated_at AS updatedAt`;

// A desired item is held when a package row exists for its provider, version and platform.
// Sources and platforms are stored normalized (lowercase), as the provider tables are.
const heldJoins = `LEFT JOIN providers p ON p.hostname || '/' || p.namespace || '/' || p.type = i.source
  LEFT JOIN provider_versions pv ON pv.provider_id = p.id AND pv.version = i.version
  LEFT JOIN provider_packages pk ON pk.version_id = pv.id AND pk.os || '_' || pk.arch = i.platform`;

/**
 * All SQL about the operator's provider sets and their desired items. The
 * desired items of every set together are the reference counts that decide
 * what purging a set may remove. Statements are prepared once.
 */
export class ProviderSetRepository {
  private readonly stmts;

  constructor(private readonly db: Database) {
    this.stmts = {
      find: db.prepare<[string, string], RawSet>(`SELECT ${setColumns} FROM provider_sets WHERE namespace = ? AND name = ?`),
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
      // Held packages no other set wants: the only ones purging this set may remove.
      unsharedPackages: db.prepare<[number], { id: number; objectKey: string; versionId: number }>(
        `SELECT pk.id, pk.object_key AS objectKey, pv.id AS versionId
           FROM provider_set_items i ${heldJoins}
          WHERE i.set_id = ? AND pk.id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM provider_set_items o
                             WHERE o.source = i.source AND o.version = i.version AND o.platform = i.platform
                               AND o.set_id <> i.set_id)`,
      ),
      deletePackage: db.prepare<[number]>(`DELETE FROM provider_packages WHERE id = ?`),
      objectKeyInUse: db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM provider_packages WHERE object_key = ? LIMIT 1`),
      emptyVersion: db.prepare<[number], { providerId: number; source: string; version: string; shasumsKey: string | null; signatureKey: string | null }>(
        `SELECT pv.provider_id AS providerId, p.hostname || '/' || p.namespace || '/' || p.type AS source, pv.version,
                pv.shasums_key AS shasumsKey, pv.signature_key AS signatureKey
           FROM provider_versions pv JOIN providers p ON p.id = pv.provider_id
          WHERE pv.id = ? AND NOT EXISTS (SELECT 1 FROM provider_packages pk WHERE pk.version_id = pv.id)`,
      ),
      deleteVersion: db.prepare<[number]>(`DELETE FROM provider_versions WHERE id = ?`),
      // A provider row with a non-default status is an administrator's decision: it stays even when empty.
      deleteEmptyProvider: db.prepare<[number]>(
        `DELETE FROM providers WHERE id = ? AND status = 'active'
            AND NOT EXISTS (SELECT 1 FROM provider_versions WHERE provider_id = providers.id)`,
      ),
    };
  }

  find(key: ProviderSetName): ProviderSetRow | undefined {
    const row = this.stmts.find.get(key.namespace, key.name);
    return row && toRow(row);
  }

  get(key: ProviderSetName): ProviderSetRow {
    const row = this.find(key);
    if (!row) throw new NotFound(`provider set ${key.namespace}/${key.name} is not known`);
    return row;
  }

  /** Runs fn in one IMMEDIATE transaction (repository calls inside it nest as savepoints). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /**
   * Stores the set and replaces its desired items, in one transaction. A
   * different uid under the same name is a recreated object: the old row and
   * its items go, and the new one starts afresh.
   */
  save(set: SaveProviderSet, items: readonly JobItemKey[], now: number): ProviderSetRow {
    return this.transaction(() => {
      const existing = this.stmts.find.get(set.namespace, set.name);
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
      return toRow(this.stmts.find.get(set.namespace, set.name)!);
    });
  }

  /** The set's desired items, in address order, each marked held or not. */
  desiredItems(setId: number): DesiredItem[] {
    return this.stmts.desiredItems.all(setId).map((r) => ({ source: r.source, version: r.version, platform: r.platform, held: r.held === 1 }));
  }

  /** Forgets the set (its desired items with it); false when it was not known. */
  remove(key: ProviderSetName): boolean {
    return this.transaction(() => {
      const existing = this.stmts.find.get(key.namespace, key.name);
      if (!existing) return false;
      this.stmts.deleteItems.run(existing.id);
      this.stmts.deleteSet.run(existing.id);
      return true;
    });
  }

  /**
   * Removes the set and, in the same transaction, the package rows only it
   * wanted (and versions and plain providers they leave empty). Rows go
   * before objects: the caller deletes the returned keys afterwards, so
   * nothing served can point at a missing object. Undefined when unknown.
   */
  purge(key: ProviderSetName): PurgedSet | undefined {
    return this.transaction((): PurgedSet | undefined => {
      const existing = this.stmts.find.get(key.namespace, key.name);
      if (!existing) return undefined;
      const packages = this.stmts.unsharedPackages.all(existing.id);
      for (const pkg of packages) this.stmts.deletePackage.run(pkg.id);
      const keys = new Set(packages.map((p) => p.objectKey));
      const emptiedVersions: PurgedSet['emptiedVersions'] = [];
      for (const versionId of new Set(packages.map((p) => p.versionId))) {
        const v = this.stmts.emptyVersion.get(versionId);
        if (!v) continue;
        this.stmts.deleteVersion.run(versionId);
        this.stmts.deleteEmptyProvider.run(v.providerId);
        if (v.shasumsKey) keys.add(v.shasumsKey);
        if (v.signatureKey) keys.add(v.signatureKey);
        emptiedVersions.push({ source: v.source, version: v.version });
      }
      this.stmts.deleteItems.run(existing.id);
      this.stmts.deleteSet.run(existing.id);
      const objectKeys = [...keys].filter((k) => !this.stmts.objectKeyInUse.get(k));
      return { packages: packages.length, objectKeys, emptiedVersions };
    });
  }
}

function toRow(r: RawSet): ProviderSetRow {
  return { ...r, spec: JSON.parse(r.spec) as unknown, problems: JSON.parse(r.problems) as string[] };
}
