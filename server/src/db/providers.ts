import type { Database } from './database.js';
import { Conflict, NotFound } from '../errors.js';
import { PackageHolderStatements, type PackageHolder } from './package-holders.js';
import {
  packageColumns,
  prepareAdminStatements,
  type AdminStatements,
  type FilterParams,
  type PackageDetailRow,
  type ProviderFilter,
  type ProviderSummaryRow,
  type StorageStats,
  type VersionDetailRow,
} from './provider-admin-queries.js';

export type ProviderStatus = 'active' | 'deprecated' | 'blocked';
export type VersionOrigin = 'loaded' | 'pulled' | 'imported';

export interface ProviderIdentity {
  hostname: string;
  namespace: string;
  type: string;
}

export interface ProviderRow extends ProviderIdentity {
  id: number;
  status: ProviderStatus;
}

export interface PackageRow {
  id: number;
  version: string;
  os: string;
  arch: string;
  filename: string;
  size: number;
  sha256: string;
  h1: string;
  objectKey: string;
}

export interface NewPackage {
  provider: ProviderIdentity;
  version: string;
  origin: VersionOrigin;
  protocols?: string[];
  os: string;
  arch: string;
  filename: string;
  size: number;
  sha256: string;
  h1: string;
  objectKey: string;
  /** The upstream's signed evidence for the version, stored next to its packages. */
  evidence?: VersionEvidence;
  /** Who brings it; defaults to the origin (a set's load names the set). */
  holder?: PackageHolder;
}

/** Downloads of one package since the last flush. */
export interface DownloadTally {
  count: number;
  first: Date;
  last: Date;
}

export interface VersionEvidence {
  shasumsKey: string;
  signatureKey: string;
  /** The key ids that verified the signature. */
  keyIds: string[];
}

export type RecordOutcome = 'created' | 'unchanged';

/** A deleted provider and the object keys to remove from storage afterwards. */
export interface DeletedProvider {
  provider: ProviderRow;
  /** Keys its rows named that no remaining row names, checked in the deleting transaction. */
  objectKeys: string[];
  /** Versions whose other files (signing keys) may go too: no load of them is pending or running. */
  releasedVersions: string[];
}

export type {
  HostnameUsage,
  NamespaceUsage,
  PackageDetailRow,
  PackageUsage,
  ProviderFilter,
  ProviderSummaryRow,
  ProviderUsage,
  StorageStats,
  StorageTotals,
  VersionDetailRow,
} from './provider-admin-queries.js';

/**
 * All SQL about providers, their versions and packages. Identities are
 * expected normalized (lowercase) by the caller; statements are prepared once.
 */
export class ProviderRepository {
  private readonly stmts;
  private readonly admin: AdminStatements;
  private readonly holders: PackageHolderStatements;
  private readonly checks: ReferenceChecks;

  constructor(private readonly db: Database) {
    this.checks = new ReferenceChecks(db);
    this.admin = prepareAdminStatements(db);
    this.holders = new PackageHolderStatements(db);
    this.stmts = {
      findProvider: db.prepare<[string, string, string], ProviderRow>(
        `SELECT id, hostname, namespace, type, status FROM providers WHERE hostname = ? AND namespace = ? AND type = ?`,
      ),
      insertProvider: db.prepare<[string, string, string]>(
        `INSERT INTO providers (hostname, namespace, type) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      listVersions: db.prepare<[number], { version: string }>(
        `SELECT pv.version FROM provider_versions pv
          WHERE pv.provider_id = ? AND EXISTS (SELECT 1 FROM provider_packages pk WHERE pk.version_id = pv.id)`,
      ),
      findVersion: db.prepare<[number, string], { id: number }>(
        `SELECT id FROM provider_versions WHERE provider_id = ? AND version = ?`,
      ),
      insertVersion: db.prepare<[number, string, string, string]>(
        `INSERT INTO provider_versions (provider_id, version, protocols, origin) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      setEvidence: db.prepare<[string, string, string, number]>(
        `UPDATE provider_versions SET shasums_key = ?, signature_key = ?, key_ids = ? WHERE id = ?`,
      ),
      packagesOfVersion: db.prepare<[number, string], PackageRow>(
        `SELECT ${packageColumns} FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id
          WHERE pv.provider_id = ? AND pv.version = ? ORDER BY pk.os, pk.arch`,
      ),
      packageByPlatform: db.prepare<[number, string, string], PackageRow>(
        `SELECT ${packageColumns} FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id
          WHERE pk.version_id = ? AND pk.os = ? AND pk.arch = ?`,
      ),
      // Filenames are unique per version only: hand-made mirrors reuse one name across versions.
      packageByVersionFilename: db.prepare<[number, string, string], PackageRow>(
        `SELECT ${packageColumns} FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id
          WHERE pv.provider_id = ? AND pv.version = ? AND pk.filename = ?`,
      ),
      packagesByFilename: db.prepare<[number, string], PackageRow>(
        `SELECT ${packageColumns} FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id
          WHERE pv.provider_id = ? AND pk.filename = ? LIMIT 2`,
      ),
      insertPackage: db.prepare(
        `INSERT INTO provider_packages (version_id, os, arch, filename, size, sha256, h1, object_key)
         VALUES (@versionId, @os, @arch, @filename, @size, @sha256, @h1, @objectKey)`,
      ),
      addDownloads: db.prepare<{ id: number; count: number; first: string; last: string }>(
        `UPDATE provider_packages SET download_count = download_count + @count,
                first_download_at = MIN(COALESCE(first_download_at, @first), @first),
                last_download_at = MAX(COALESCE(last_download_at, @last), @last)
          WHERE id = @id`,
      ),
    };
  }

  findProvider(id: ProviderIdentity): ProviderRow | undefined {
    return this.stmts.findProvider.get(id.hostname, id.namespace, id.type);
  }

  getProvider(id: ProviderIdentity): ProviderRow {
    const row = this.findProvider(id);
    if (!row) throw new NotFound(`provider ${id.hostname}/${id.namespace}/${id.type} is not in this mirror`);
    return row;
  }

  /** Versions that hold at least one package (a version row alone is not installable). */
  listVersions(providerId: number): string[] {
    return this.stmts.listVersions.all(providerId).map((r) => r.version);
  }

  listPackages(providerId: number, version: string): PackageRow[] {
    return this.stmts.packagesOfVersion.all(providerId, version);
  }

  /** The archive a download URL names: filenames repeat across versions, so the version is part of the key. */
  findArchive(providerId: number, version: string, filename: string): PackageRow | undefined {
    return this.stmts.packageByVersionFilename.get(providerId, version, filename);
  }

  /**
   * The archive named by filename alone (the older URL form without the
   * version), only when exactly one version holds that filename.
   */
  findArchiveByFilenameOnly(providerId: number, filename: string): PackageRow | undefined {
    const rows = this.stmts.packagesByFilename.all(providerId, filename);
    return rows.length === 1 ? rows[0] : undefined;
  }

  /** The package already held for this provider, version and platform, if any. */
  findPackage(id: ProviderIdentity, version: string, os: string, arch: string): PackageRow | undefined {
    const provider = this.findProvider(id);
    if (!provider) return undefined;
    const v = this.stmts.findVersion.get(provider.id, version);
    return v ? this.stmts.packageByPlatform.get(v.id, os, arch) : undefined;
  }

  /**
   * Records a stored package, creating its provider and version rows as
   * needed, in one transaction. Recording the same bytes again is a no-op; a
   * different package under a published version and platform is a Conflict:
   * lock files pin these bytes, so a mirror must never change them.
   */
  recordPackage(p: NewPackage): RecordOutcome {
    const tx = this.db.transaction((): RecordOutcome => {
      const { hostname, namespace, type } = p.provider;
      this.stmts.insertProvider.run(hostname, namespace, type);
      const provider = this.stmts.findProvider.get(hostname, namespace, type)!;
      this.stmts.insertVersion.run(provider.id, p.version, JSON.stringify(p.protocols ?? []), p.origin);
      const versionId = this.stmts.findVersion.get(provider.id, p.version)!.id;
      if (p.evidence) {
        const e = p.evidence;
        this.stmts.setEvidence.run(e.shasumsKey, e.signatureKey, JSON.stringify(e.keyIds), versionId);
      }
      const existing = this.stmts.packageByPlatform.get(versionId, p.os, p.arch);
      const holder = p.holder ?? { kind: p.origin };
      if (existing) {
        if (existing.sha256 === p.sha256) {
          this.holders.add(existing.id, holder);
          return 'unchanged';
        }
        throw new Conflict(
          `${hostname}/${namespace}/${type} ${p.version} ${p.os}_${p.arch} is already held with different bytes ` +
            `(sha256 ${existing.sha256}, offered ${p.sha256}); published packages are immutable`,
        );
      }
      const info = this.stmts.insertPackage.run({ versionId, os: p.os, arch: p.arch, filename: p.filename, size: p.size, sha256: p.sha256, h1: p.h1, objectKey: p.objectKey });
      this.holders.add(Number(info.lastInsertRowid), holder);
      return 'created';
    });
    return tx.immediate();
  }

  /**
   * Records that `holder` also holds the package already stored for this
   * provider, version and platform (a load or import that found it held).
   * False when no such package exists.
   */
  addHolder(id: ProviderIdentity, version: string, os: string, arch: string, holder: PackageHolder): boolean {
    return this.db.transaction(() => {
      const pkg = this.findPackage(id, version, os, arch);
      if (pkg) this.holders.add(pkg.id, holder);
      return pkg !== undefined;
    }).immediate();
  }

  /** Who holds the package, in a stable order. */
  holdersOf(packageId: number): PackageHolder[] {
    return this.holders.of(packageId);
  }

  /** Whether a pending or running job item will load this version (and write its shared files). */
  isVersionLoadActive(source: string, version: string): boolean {
    return this.checks.isVersionLoadActive(source, version);
  }

  /**
   * Whether any recorded row (a package, or a version's SHA256SUMS or
   * signature) names this object, so it must not be removed. Cleanups call it
   * right before deleting: inside a transaction it sees that transaction's rows.
   */
  isObjectKeyReferenced(key: string): boolean {
    return this.checks.isObjectKeyReferenced(key);
  }

  /** @deprecated the old name of isObjectKeyReferenced. */
  isObjectKeyInUse(key: string): boolean {
    return this.isObjectKeyReferenced(key);
  }

  /** Adds buffered download counts, all at one time, in one transaction. */
  addDownloads(counts: Map<number, number>, at: Date): void {
    this.recordDownloads(new Map([...counts].map(([id, count]) => [id, { count, first: at, last: at }])));
  }

  /**
   * Adds buffered download tallies in one transaction. The first download only
   * moves back and the last only forward: serve processes sharing the database
   * flush on their own timers, so an older tally may arrive after a newer one.
   */
  recordDownloads(tallies: ReadonlyMap<number, DownloadTally>): void {
    this.db.transaction(() => {
      for (const [id, t] of tallies) {
        this.stmts.addDownloads.run({ id, count: t.count, first: t.first.toISOString(), last: t.last.toISOString() });
      }
    }).immediate();
  }

  /** One page of providers with their usage, in address order; `total` counts every match. */
  listProviders(f: ProviderFilter): { items: ProviderSummaryRow[]; total: number } {
    const filter: FilterParams = {
      hostname: f.hostname ?? null,
      namespace: f.namespace ?? null,
      type: f.type ?? null,
      q: f.q ?? null,
      status: f.status ?? null,
      origin: f.origin ?? null,
    };
    return this.db.transaction(() => ({
      items: this.admin.listProviders.all({ ...filter, limit: f.limit, offset: f.offset }),
      total: this.admin.countProviders.get(filter)!.n,
    }))();
  }

  getProviderById(id: number): ProviderRow {
    return found(this.admin.providerById.get(id), id);
  }

  getProviderSummary(id: number): ProviderSummaryRow {
    return found(this.admin.providerSummary.get(id), id);
  }

  /** Every version row of the provider, in no particular order (callers sort by semver). */
  listVersionDetails(providerId: number): VersionDetailRow[] {
    return this.admin.versionsOfProvider.all(providerId).map((r) => ({
      ...r,
      protocols: JSON.parse(r.protocols) as string[],
      keyIds: JSON.parse(r.keyIds) as string[],
    }));
  }

  listPackageDetails(providerId: number): PackageDetailRow[] {
    return this.admin.packagesOfProvider.all(providerId);
  }

  setStatus(id: number, status: ProviderStatus): ProviderRow {
    return found(this.admin.setStatus.get(status, id), id);
  }

  /**
   * Removes the provider, its versions and packages in one transaction and
   * returns the object keys they named that no remaining row names, checked
   * in that same transaction (so a concurrent writer either committed first
   * and keeps its key, or sees the provider gone). Keys of a version with a
   * load pending or running are kept: that load rewrites and records them.
   * Rows go first: nothing served can point at an object the caller then deletes.
   */
  deleteProvider(id: number): DeletedProvider {
    return this.db.transaction((): DeletedProvider => {
      const provider = this.getProviderById(id);
      const source = `${provider.hostname}/${provider.namespace}/${provider.type}`;
      const named = this.admin.objectKeysOfProvider.all({ id });
      const versions = this.admin.versionsOfProvider.all(id).map((v) => v.version);
      this.admin.deletePackages.run(id);
      this.admin.deleteVersions.run(id);
      this.admin.deleteProvider.run(id);
      const active = new Set(versions.filter((v) => this.isVersionLoadActive(source, v)));
      const objectKeys = [...new Set(named.filter((r) => !active.has(r.version)).map((r) => r.key))].filter(
        (k) => !this.isObjectKeyReferenced(k),
      );
      return { provider, objectKeys, releasedVersions: versions.filter((v) => !active.has(v)) };
    }).immediate();
  }

  /** Usage totals and rankings, read in one transaction so the numbers agree with each other. */
  storageStats(limits: { providers: number; packages: number }): StorageStats {
    return this.db.transaction(() => ({
      totals: this.admin.totals.get()!,
      byHostname: this.admin.byHostname.all(),
      byNamespace: this.admin.byNamespace.all(),
      byProvider: this.admin.topProviders.all(limits.providers),
      largestPackages: this.admin.largestPackages.all(limits.packages),
      mostDownloaded: this.admin.mostDownloaded.all(limits.packages),
    }))();
  }
}

/**
 * The questions every cleanup asks before deleting an object, in one place
 * for the repositories that remove rows (providers, provider sets). Asked
 * inside the removing transaction, they see that transaction's own deletes.
 */
export class ReferenceChecks {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      // Package archives and the version's signed evidence both live in the object store under keys the rows name.
      objectKeyReferenced: db.prepare<{ key: string }, { one: number }>(
        `SELECT 1 AS one WHERE EXISTS (SELECT 1 FROM provider_packages WHERE object_key = @key)
            OR EXISTS (SELECT 1 FROM provider_versions WHERE shasums_key = @key OR signature_key = @key)`,
      ),
      // A load still to run for the version will write its shared files (SHA256SUMS, keys) again.
      versionLoadActive: db.prepare<[string, string], { one: number }>(
        `SELECT 1 AS one FROM job_items WHERE source = ? AND version = ? AND status IN ('pending', 'running') LIMIT 1`,
      ),
    };
  }

  isObjectKeyReferenced(key: string): boolean {
    return this.stmts.objectKeyReferenced.get({ key }) !== undefined;
  }

  isVersionLoadActive(source: string, version: string): boolean {
    return this.stmts.versionLoadActive.get(source, version) !== undefined;
  }
}

function found<T>(row: T | undefined, id: number): T {
  if (!row) throw new NotFound(`provider ${id} does not exist`);
  return row;
}
