import type { Database } from './database.js';
import { Conflict, NotFound } from '../errors.js';

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
}

export interface VersionEvidence {
  shasumsKey: string;
  signatureKey: string;
  /** The key ids that verified the signature. */
  keyIds: string[];
}

export type RecordOutcome = 'created' | 'unchanged';

const packageColumns = `pk.id, pv.version, pk.os, pk.arch, pk.filename, pk.size, pk.sha256, pk.h1, pk.object_key AS objectKey`;

/**
 * All SQL about providers, their versions and packages. Identities are
 * expected normalized (lowercase) by the caller; statements are prepared once.
 */
export class ProviderRepository {
  private readonly stmts;

  constructor(private readonly db: Database) {
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
      packageByFilename: db.prepare<[number, string], PackageRow>(
        `SELECT ${packageColumns} FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id
          WHERE pv.provider_id = ? AND pk.filename = ?`,
      ),
      insertPackage: db.prepare(
        `INSERT INTO provider_packages (version_id, os, arch, filename, size, sha256, h1, object_key)
         VALUES (@versionId, @os, @arch, @filename, @size, @sha256, @h1, @objectKey)`,
      ),
      objectKeyInUse: db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM provider_packages WHERE object_key = ? LIMIT 1`),
      addDownloads: db.prepare<[number, string, number]>(
        `UPDATE provider_packages SET download_count = download_count + ?, last_download_at = ? WHERE id = ?`,
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

  findPackageByFilename(providerId: number, filename: string): PackageRow | undefined {
    return this.stmts.packageByFilename.get(providerId, filename);
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
      if (existing) {
        if (existing.sha256 === p.sha256) return 'unchanged';
        throw new Conflict(
          `${hostname}/${namespace}/${type} ${p.version} ${p.os}_${p.arch} is already held with different bytes ` +
            `(sha256 ${existing.sha256}, offered ${p.sha256}); published packages are immutable`,
        );
      }
      this.stmts.insertPackage.run({ versionId, os: p.os, arch: p.arch, filename: p.filename, size: p.size, sha256: p.sha256, h1: p.h1, objectKey: p.objectKey });
      return 'created';
    });
    return tx.immediate();
  }

  /** Whether a recorded package points at this object (so it must not be removed). */
  isObjectKeyInUse(key: string): boolean {
    return this.stmts.objectKeyInUse.get(key) !== undefined;
  }

  /** Adds buffered download counts in one transaction. */
  addDownloads(counts: Map<number, number>, at: Date): void {
    const stamp = at.toISOString();
    this.db.transaction(() => {
      for (const [id, n] of counts) this.stmts.addDownloads.run(n, stamp, id);
    }).immediate();
  }
}
