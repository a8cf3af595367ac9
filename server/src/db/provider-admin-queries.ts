import type { Database } from './database.js';
import type { PackageHolder } from './package-holders.js';
import type { PackageRow, ProviderIdentity, ProviderRow, ProviderStatus, VersionOrigin } from './providers.js';

/*
 * The admin API's provider queries (listings, details, usage statistics),
 * prepared once for ProviderRepository, which is their only user.
 */

/** Admin listing filters; every field but paging is optional and they combine with AND. */
export interface ProviderFilter {
  hostname?: string;
  namespace?: string;
  type?: string;
  /** Substring of "hostname/namespace/type". */
  q?: string;
  status?: ProviderStatus;
  /** Who brought or holds any of its packages (package_holders): any set counts as "set". */
  origin?: PackageHolder['kind'];
  limit: number;
  offset: number;
}

export interface ProviderUsage {
  versions: number;
  packages: number;
  bytes: number;
  downloads: number;
}

export interface ProviderSummaryRow extends ProviderRow, ProviderUsage {
  /** ISO timestamp of the last status change or stored package. */
  updatedAt: string;
}

export interface VersionDetailRow {
  id: number;
  version: string;
  origin: VersionOrigin;
  protocols: string[];
  keyIds: string[];
  createdAt: string;
}

export interface PackageDetailRow extends PackageRow {
  versionId: number;
  downloads: number;
  firstDownloadAt: string | null;
  lastDownloadAt: string | null;
}

export interface StorageTotals extends ProviderUsage {
  providers: number;
}

export type HostnameUsage = StorageTotals & { hostname: string };
export type NamespaceUsage = HostnameUsage & { namespace: string };

export interface PackageUsage extends ProviderIdentity {
  providerId: number;
  version: string;
  os: string;
  arch: string;
  filename: string;
  size: number;
  downloads: number;
  lastDownloadAt: string | null;
}

export interface StorageStats {
  totals: StorageTotals;
  byHostname: HostnameUsage[];
  byNamespace: NamespaceUsage[];
  byProvider: ProviderSummaryRow[];
  largestPackages: PackageUsage[];
  mostDownloaded: PackageUsage[];
}

export const packageColumns = `pk.id, pv.version, pk.os, pk.arch, pk.filename, pk.size, pk.sha256, pk.h1, pk.object_key AS objectKey`;

// Admin queries. NULL parameters switch a filter off, so one prepared statement serves every combination.
const providerFilter = `(@hostname IS NULL OR hostname = @hostname) AND (@namespace IS NULL OR namespace = @namespace)
  AND (@type IS NULL OR type = @type) AND (@status IS NULL OR status = @status)
  AND (@q IS NULL OR instr(hostname || '/' || namespace || '/' || type, @q) > 0)
  AND (@origin IS NULL OR EXISTS (SELECT 1 FROM provider_versions fv JOIN provider_packages fk ON fk.version_id = fv.id
         JOIN package_holders fh ON fh.package_id = fk.id WHERE fv.provider_id = providers.id AND fh.holder_kind = @origin))`;
const usageJoins = `LEFT JOIN provider_versions pv ON pv.provider_id = p.id LEFT JOIN provider_packages pk ON pk.version_id = pv.id`;
const usageColumns = `COUNT(DISTINCT pv.id) AS versions, COUNT(pk.id) AS packages,
  COALESCE(SUM(pk.size), 0) AS bytes, COALESCE(SUM(pk.download_count), 0) AS downloads`;
const summaryColumns = `p.id, p.hostname, p.namespace, p.type, p.status, ${usageColumns},
  MAX(p.updated_at, COALESCE(MAX(pk.created_at), p.updated_at)) AS updatedAt`;
const packageUsageSelect = `SELECT p.id AS providerId, p.hostname, p.namespace, p.type, pv.version, pk.os, pk.arch, pk.filename,
    pk.size, pk.download_count AS downloads, pk.last_download_at AS lastDownloadAt
  FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id JOIN providers p ON p.id = pv.provider_id`;
const isoNow = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

export type FilterParams = Record<'hostname' | 'namespace' | 'type' | 'q' | 'status' | 'origin', string | null>;

export type AdminStatements = ReturnType<typeof prepareAdminStatements>;

export function prepareAdminStatements(db: Database) {
  type VersionRaw = Omit<VersionDetailRow, 'protocols' | 'keyIds'> & { protocols: string; keyIds: string };
  return {
    listProviders: db.prepare<FilterParams & { limit: number; offset: number }, ProviderSummaryRow>(
      `SELECT ${summaryColumns}
         FROM (SELECT * FROM providers WHERE ${providerFilter} ORDER BY hostname, namespace, type LIMIT @limit OFFSET @offset) p
         ${usageJoins}
        GROUP BY p.id ORDER BY p.hostname, p.namespace, p.type`,
    ),
    countProviders: db.prepare<FilterParams, { n: number }>(`SELECT COUNT(*) AS n FROM providers WHERE ${providerFilter}`),
    providerById: db.prepare<[number], ProviderRow>(`SELECT id, hostname, namespace, type, status FROM providers WHERE id = ?`),
    providerSummary: db.prepare<[number], ProviderSummaryRow>(
      `SELECT ${summaryColumns} FROM providers p ${usageJoins} WHERE p.id = ? GROUP BY p.id`,
    ),
    versionsOfProvider: db.prepare<[number], VersionRaw>(
      `SELECT id, version, origin, protocols, key_ids AS keyIds, created_at AS createdAt FROM provider_versions WHERE provider_id = ?`,
    ),
    packagesOfProvider: db.prepare<[number], PackageDetailRow>(
      `SELECT ${packageColumns}, pk.version_id AS versionId, pk.download_count AS downloads,
              pk.first_download_at AS firstDownloadAt, pk.last_download_at AS lastDownloadAt
         FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id
        WHERE pv.provider_id = ? ORDER BY pk.os, pk.arch`,
    ),
    setStatus: db.prepare<[ProviderStatus, number], ProviderRow>(
      `UPDATE providers SET status = ?, updated_at = ${isoNow} WHERE id = ? RETURNING id, hostname, namespace, type, status`,
    ),
    objectKeysOfProvider: db.prepare<{ id: number }, { key: string; version: string }>(
      `SELECT pk.object_key AS key, pv.version FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id WHERE pv.provider_id = @id
       UNION SELECT shasums_key, version FROM provider_versions WHERE provider_id = @id AND shasums_key IS NOT NULL
       UNION SELECT signature_key, version FROM provider_versions WHERE provider_id = @id AND signature_key IS NOT NULL`,
    ),
    // Explicit child deletes: correct even on a connection opened without foreign_keys = ON.
    deletePackages: db.prepare<[number]>(
      `DELETE FROM provider_packages WHERE version_id IN (SELECT id FROM provider_versions WHERE provider_id = ?)`,
    ),
    deleteVersions: db.prepare<[number]>(`DELETE FROM provider_versions WHERE provider_id = ?`),
    deleteProvider: db.prepare<[number]>(`DELETE FROM providers WHERE id = ?`),
    totals: db.prepare<[], StorageTotals>(
      `SELECT (SELECT COUNT(*) FROM providers) AS providers, (SELECT COUNT(*) FROM provider_versions) AS versions,
              COUNT(*) AS packages, COALESCE(SUM(size), 0) AS bytes, COALESCE(SUM(download_count), 0) AS downloads
         FROM provider_packages`,
    ),
    byHostname: db.prepare<[], HostnameUsage>(
      `SELECT p.hostname, COUNT(DISTINCT p.id) AS providers, ${usageColumns}
         FROM providers p ${usageJoins} GROUP BY p.hostname ORDER BY bytes DESC, p.hostname`,
    ),
    byNamespace: db.prepare<[], NamespaceUsage>(
      `SELECT p.hostname, p.namespace, COUNT(DISTINCT p.id) AS providers, ${usageColumns}
         FROM providers p ${usageJoins} GROUP BY p.hostname, p.namespace ORDER BY bytes DESC, p.hostname, p.namespace`,
    ),
    topProviders: db.prepare<[number], ProviderSummaryRow>(
      `SELECT ${summaryColumns} FROM providers p ${usageJoins} GROUP BY p.id ORDER BY bytes DESC, p.id LIMIT ?`,
    ),
    largestPackages: db.prepare<[number], PackageUsage>(`${packageUsageSelect} ORDER BY pk.size DESC, pk.id LIMIT ?`),
    mostDownloaded: db.prepare<[number], PackageUsage>(
      `${packageUsageSelect} WHERE pk.download_count > 0 ORDER BY pk.download_count DESC, pk.id LIMIT ?`,
    ),
  };
}
