import type { Database } from './database.js';
import { NotFound } from '../errors.js';
import type { ModuleAddress, ModuleHolder, ModuleRow, ModuleStatus, ModuleVersionRow } from '../modules/ports.js';
import { compareVersions, isValidVersion } from '../providers/version.js';
import { holderColumns, holderFromColumns, type HolderColumns, type SetIdentity } from './package-holders.js';

/** What an ingest recorded for a version (the row's other fields start empty). */
export interface NewModuleVersion {
  version: string;
  location: string;
  sourceKind: 'git' | 'archive';
  commit?: string;
  subdir?: string;
  archiveKey: string;
  sha256: string;
  size: number;
  files: number;
}

export interface RecordedModuleVersion {
  /** 'unchanged': the version was held already (pinned: the first recorded tree stays); the holder was added. */
  outcome: 'created' | 'unchanged';
  row: ModuleVersionRow;
}

export interface ModuleFilter {
  /** Matched as a substring of "hostname/namespace/name/system", case-insensitively. */
  query?: string;
  status?: ModuleStatus;
  hostname?: string;
  limit: number;
  offset: number;
}

export interface ModuleSummaryRow extends ModuleRow {
  versions: number;
  /** Bytes of the stored archives. */
  bytes: number;
  downloads: number;
  lastDownloadAt: number | null;
}

export interface ModuleStorageStats {
  modules: number;
  versions: number;
  bytes: number;
}

/** Archive keys that rows no longer name, to delete from the store after the transaction committed. */
export interface RemovedModuleContent {
  /** The versions removed, as "hostname/namespace/name/system" and version. */
  versions: Array<{ source: string; version: string }>;
  archiveKeys: string[];
}

const moduleColumns = `id, hostname, namespace, name, system, status, created_at AS createdAt`;
const versionColumns = `id, module_id AS moduleId, version, location, source_kind AS sourceKind, git_commit AS "commit", subdir,
  archive_key AS archiveKey, sha256, size, files, download_count AS downloadCount, last_download_at AS lastDownloadAt,
  created_at AS createdAt, drift_commit AS driftCommit, drift_checked_at AS driftCheckedAt`;

interface FilterParams {
  q: string | null;
  status: string | null;
  hostname: string | null;
}

/** "hostname/namespace/name/system": the source form job items and set items use. */
export function moduleSource(a: ModuleAddress): string {
  return `${a.hostname}/${a.namespace}/${a.name}/${a.system}`;
}

/**
 * All SQL about modules, their versions and who holds them. Addresses match
 * case-insensitively (the columns are NOCASE); statements are prepared once.
 * Every change of several rows is one transaction, and removals return the
 * archive keys no remaining row names, checked inside that transaction, for
 * the caller to delete once it committed (rows first: nothing served can point
 * at an object already gone).
 */
export class ModuleRepository {
  private readonly stmts;

  constructor(private readonly db: Database) {
    const filter = `(@q IS NULL OR instr(lower(m.hostname || '/' || m.namespace || '/' || m.name || '/' || m.system), lower(@q)) > 0)
       AND (@status IS NULL OR m.status = @status) AND (@hostname IS NULL OR m.hostname = @hostname)`;
    this.stmts = {
      find: db.prepare<[string, string, string, string], ModuleRow>(
        `SELECT ${moduleColumns} FROM modules WHERE hostname = ? AND namespace = ? AND name = ? AND system = ?`,
      ),
      byId: db.prepare<[number], ModuleRow>(`SELECT ${moduleColumns} FROM modules WHERE id = ?`),
      insert: db.prepare<[string, string, string, string, number]>(
        `INSERT INTO modules (hostname, namespace, name, system, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      list: db.prepare<FilterParams & { limit: number; offset: number }, ModuleSummaryRow>(
        `SELECT m.id, m.hostname, m.namespace, m.name, m.system, m.status, m.created_at AS createdAt,
                count(v.id) AS versions, COALESCE(sum(v.size), 0) AS bytes, COALESCE(sum(v.download_count), 0) AS downloads,
                max(v.last_download_at) AS lastDownloadAt
           FROM modules m LEFT JOIN module_versions v ON v.module_id = m.id
          WHERE ${filter}
          GROUP BY m.id ORDER BY lower(m.hostname), lower(m.namespace), lower(m.name), m.system LIMIT @limit OFFSET @offset`,
      ),
      count: db.prepare<FilterParams, { n: number }>(`SELECT count(*) AS n FROM modules m WHERE ${filter}`),
      versions: db.prepare<[number], ModuleVersionRow>(`SELECT ${versionColumns} FROM module_versions WHERE module_id = ?`),
      version: db.prepare<[number, string], ModuleVersionRow>(`SELECT ${versionColumns} FROM module_versions WHERE module_id = ? AND version = ?`),
      versionById: db.prepare<[number], ModuleVersionRow>(`SELECT ${versionColumns} FROM module_versions WHERE id = ?`),
      insertVersion: db.prepare(
        `INSERT INTO module_versions (module_id, version, location, source_kind, git_commit, subdir, archive_key, sha256, size, files, created_at)
         VALUES (@moduleId, @version, @location, @sourceKind, @commit, @subdir, @archiveKey, @sha256, @size, @files, @createdAt)`,
      ),
      deleteVersion: db.prepare<[number]>(`DELETE FROM module_versions WHERE id = ?`),
      deleteModule: db.prepare<[number]>(`DELETE FROM modules WHERE id = ?`),
      // A blocked or deprecated module keeps its row (the decision outlives its content).
      deleteEmptyActiveModule: db.prepare<[number]>(
        `DELETE FROM modules WHERE id = ? AND status = 'active' AND NOT EXISTS (SELECT 1 FROM module_versions WHERE module_id = modules.id)`,
      ),
      archiveKeysOfModule: db.prepare<[number], { key: string }>(`SELECT DISTINCT archive_key AS key FROM module_versions WHERE module_id = ?`),
      setStatus: db.prepare<[string, number], ModuleRow>(`UPDATE modules SET status = ? WHERE id = ? RETURNING ${moduleColumns}`),
      countDownload: db.prepare<{ id: number; now: number }>(
        `UPDATE module_versions SET download_count = download_count + 1, last_download_at = MAX(COALESCE(last_download_at, @now), @now) WHERE id = @id`,
      ),
      setDrift: db.prepare<[string | null, number, number]>(`UPDATE module_versions SET drift_commit = ?, drift_checked_at = ? WHERE id = ?`),
      stats: db.prepare<[], ModuleStorageStats>(
        `SELECT (SELECT count(*) FROM modules) AS modules, count(*) AS versions, COALESCE(sum(size), 0) AS bytes FROM module_versions`,
      ),
      keyReferenced: db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM module_versions WHERE archive_key = ? LIMIT 1`),
      addHolder: db.prepare<HolderColumns & { id: number }>(
        `INSERT INTO module_holders (module_version_id, holder_kind, set_kind, set_namespace, set_name)
         VALUES (@id, @holderKind, @setKind, @setNamespace, @setName) ON CONFLICT DO NOTHING`,
      ),
      holdersOf: db.prepare<[number], HolderColumns>(
        `SELECT holder_kind AS holderKind, set_kind AS setKind, set_namespace AS setNamespace, set_name AS setName
           FROM module_holders WHERE module_version_id = ? ORDER BY holder_kind, set_kind, set_namespace, set_name`,
      ),
      heldBySet: db.prepare<SetIdentity, { id: number }>(
        `SELECT module_version_id AS id FROM module_holders
          WHERE holder_kind = 'set' AND set_kind = @kind AND set_namespace = @namespace AND set_name = @name`,
      ),
      releaseSet: db.prepare<SetIdentity>(
        `DELETE FROM module_holders WHERE holder_kind = 'set' AND set_kind = @kind AND set_namespace = @namespace AND set_name = @name`,
      ),
      isHeld: db.prepare<[number], { one: number }>(`SELECT 1 AS one FROM module_holders WHERE module_version_id = ? LIMIT 1`),
      // Another set's last planning still wants it (its load may not have recorded the holder yet).
      desiredByASet: db.prepare<[string, string], { one: number }>(
        `SELECT 1 AS one FROM provider_set_items WHERE source = ? COLLATE NOCASE AND version = ? AND platform = '' LIMIT 1`,
      ),
      // A load still to run for the version would store the same content-addressed key again.
      loadActive: db.prepare<[string, string], { one: number }>(
        `SELECT 1 AS one FROM job_items WHERE source = ? COLLATE NOCASE AND version = ? AND platform = '' AND status IN ('pending', 'running') LIMIT 1`,
      ),
    };
  }

  findModule(a: ModuleAddress): ModuleRow | undefined {
    return this.stmts.find.get(a.hostname, a.namespace, a.name, a.system);
  }

  getModule(id: number): ModuleRow {
    const row = this.stmts.byId.get(id);
    if (!row) throw new NotFound(`module ${id} does not exist`);
    return row;
  }

  /** One page of modules with their usage, in address order; `total` counts every match. */
  listModules(f: ModuleFilter): { items: ModuleSummaryRow[]; total: number } {
    const params: FilterParams = { q: f.query || null, status: f.status ?? null, hostname: f.hostname ?? null };
    return this.db.transaction(() => ({
      items: this.stmts.list.all({ ...params, limit: f.limit, offset: f.offset }),
      total: this.stmts.count.get(params)!.n,
    }))();
  }

  /** The module's versions, newest first by semver precedence. */
  listVersions(moduleId: number): ModuleVersionRow[] {
    return this.stmts.versions.all(moduleId).sort(newestFirst);
  }

  findVersion(moduleId: number, version: string): ModuleVersionRow | undefined {
    return this.stmts.version.get(moduleId, version);
  }

  getVersionById(id: number): ModuleVersionRow {
    const row = this.stmts.versionById.get(id);
    if (!row) throw new NotFound(`module version ${id} does not exist`);
    return row;
  }

  /**
   * Records a stored version with its holder, creating the module row as
   * needed, in one transaction. A version already held stays as it is (a git
   * tag that moved since must keep serving the pinned tree): the holder is
   * added and the existing row returned, so the caller can drop what it stored
   * if that was a different archive.
   */
  recordVersion(a: ModuleAddress, v: NewModuleVersion, holder: ModuleHolder, now: number = Date.now()): RecordedModuleVersion {
    return this.db
      .transaction((): RecordedModuleVersion => {
        this.stmts.insert.run(a.hostname, a.namespace, a.name, a.system, now);
        const module = this.stmts.find.get(a.hostname, a.namespace, a.name, a.system)!;
        const existing = this.stmts.version.get(module.id, v.version);
        if (existing) {
          this.addHolderRow(existing.id, holder);
          return { outcome: 'unchanged', row: existing };
        }
        const info = this.stmts.insertVersion.run({
          moduleId: module.id,
          version: v.version,
          location: v.location,
          sourceKind: v.sourceKind,
          commit: v.commit ?? null,
          subdir: v.subdir ?? null,
          archiveKey: v.archiveKey,
          sha256: v.sha256,
          size: v.size,
          files: v.files,
          createdAt: now,
        });
        const id = Number(info.lastInsertRowid);
        this.addHolderRow(id, holder);
        return { outcome: 'created', row: this.stmts.versionById.get(id)! };
      })
      .immediate();
  }

  /** Records that `holder` also holds the version; false when no such version row exists. */
  addHolder(versionId: number, holder: ModuleHolder): boolean {
    return this.db
      .transaction(() => {
        if (!this.stmts.versionById.get(versionId)) return false;
        this.addHolderRow(versionId, holder);
        return true;
      })
      .immediate();
  }

  /** Who holds the version, in a stable order. */
  holdersOf(versionId: number): ModuleHolder[] {
    return this.stmts.holdersOf.all(versionId).map(holderFromColumns);
  }

  /**
   * A set lets go of its module versions (its purge): the versions nothing
   * else holds or another set still desires are deleted, with their module
   * when it is left empty and active. Returns what went and the archive keys
   * to delete after commit: none of a version a pending load will store again.
   */
  removeHolder(set: SetIdentity): RemovedModuleContent {
    return this.db
      .transaction((): RemovedModuleContent => {
        const params = { kind: set.kind, namespace: set.namespace, name: set.name };
        const held = this.stmts.heldBySet.all(params).map((r) => r.id);
        this.stmts.releaseSet.run(params);
        const removed: RemovedModuleContent = { versions: [], archiveKeys: [] };
        for (const id of held) {
          if (this.stmts.isHeld.get(id)) continue;
          const v = this.stmts.versionById.get(id);
          if (!v) continue;
          const source = moduleSource(this.stmts.byId.get(v.moduleId)!);
          if (this.stmts.desiredByASet.get(source, v.version)) continue;
          this.stmts.deleteVersion.run(id);
          this.stmts.deleteEmptyActiveModule.run(v.moduleId);
          removed.versions.push({ source, version: v.version });
          if (!this.stmts.loadActive.get(source, v.version)) removed.archiveKeys.push(v.archiveKey);
        }
        removed.archiveKeys = this.unreferenced(removed.archiveKeys);
        return removed;
      })
      .immediate();
  }

  setStatus(id: number, status: ModuleStatus): ModuleRow {
    const row = this.stmts.setStatus.get(status, id);
    if (!row) throw new NotFound(`module ${id} does not exist`);
    return row;
  }

  /** Removes the module and its versions; returns it with the archive keys to delete after commit. */
  deleteModule(id: number): { module: ModuleRow; archiveKeys: string[] } {
    return this.db
      .transaction(() => {
        const module = this.getModule(id);
        const keys = this.stmts.archiveKeysOfModule.all(id).map((r) => r.key);
        this.stmts.deleteModule.run(id);
        return { module, archiveKeys: this.unreferenced(keys) };
      })
      .immediate();
  }

  /** Removes one version (the module row stays); NotFound when it is not held. */
  deleteVersion(moduleId: number, version: string): { version: ModuleVersionRow; archiveKeys: string[] } {
    return this.db
      .transaction(() => {
        const module = this.getModule(moduleId);
        const row = this.stmts.version.get(moduleId, version);
        if (!row) throw new NotFound(`version ${version} of module ${moduleSource(module)} is not in this mirror`);
        this.stmts.deleteVersion.run(row.id);
        return { version: row, archiveKeys: this.unreferenced([row.archiveKey]) };
      })
      .immediate();
  }

  /** One download of the version; the last download only moves forward (processes flush out of order). */
  countDownload(versionId: number, now: number): void {
    this.stmts.countDownload.run({ id: versionId, now });
  }

  /** The drift check's result: `commit` is what the ref points at upstream now when it differs from the pinned one, else null. */
  setDrift(versionId: number, commit: string | null, checkedAt: number): ModuleVersionRow {
    this.stmts.setDrift.run(commit, checkedAt, versionId);
    return this.getVersionById(versionId);
  }

  /** Totals for the storage statistics. */
  stats(): ModuleStorageStats {
    return this.stmts.stats.get()!;
  }

  /** Whether a version row names this archive key; inside a transaction it sees that transaction's changes. */
  isArchiveKeyReferenced(key: string): boolean {
    return this.stmts.keyReferenced.get(key) !== undefined;
  }

  private addHolderRow(id: number, h: ModuleHolder): void {
    this.stmts.addHolder.run({ id, ...holderColumns(h) });
  }

  private unreferenced(keys: string[]): string[] {
    return [...new Set(keys)].filter((k) => !this.isArchiveKeyReferenced(k));
  }
}

/** Invalid version strings (never written by this code, but rows are data) sort last, by text. */
function newestFirst(a: ModuleVersionRow, b: ModuleVersionRow): number {
  const va = isValidVersion(a.version);
  const vb = isValidVersion(b.version);
  if (va && vb) return compareVersions(b.version, a.version);
  if (va !== vb) return va ? -1 : 1;
  return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
}
