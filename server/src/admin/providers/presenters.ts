import { formatHolder, type PackageHolder } from '../../db/package-holders.js';
import type { PackageDetailRow, ProviderIdentity, ProviderSummaryRow, VersionOrigin } from '../../db/providers.js';
import type { ProviderDetail } from './service.js';

/**
 * Admin API views of providers. Each lists its output fields explicitly:
 * object keys and internal ids of versions and packages stay inside.
 */

export function sourceOf(p: ProviderIdentity): string {
  return `${p.hostname}/${p.namespace}/${p.type}`;
}

export function presentProviderSummary(p: ProviderSummaryRow) {
  return {
    id: p.id,
    source: sourceOf(p),
    status: p.status,
    versions: p.versions,
    packages: p.packages,
    bytes: p.bytes,
    downloads: p.downloads,
    updatedAt: p.updatedAt,
  };
}

export function presentProviderList(page: { items: ProviderSummaryRow[]; total: number }) {
  return { items: page.items.map(presentProviderSummary), total: page.total };
}

export function presentProviderDetail(d: ProviderDetail) {
  return {
    id: d.provider.id,
    source: sourceOf(d.provider),
    status: d.provider.status,
    versions: d.versions.map((v) => ({
      version: v.version,
      origin: v.origin,
      protocols: v.protocols,
      createdAt: v.createdAt,
      keyIds: v.keyIds,
      // No key verified it: imported, from a network mirror, or a release without keys taken with allow_unsigned.
      signed: v.keyIds.length > 0,
      // Who brought or holds any of its packages: a purge by one set leaves what the others hold.
      heldBy: [...new Set(v.packages.flatMap((p) => p.holders.map(formatHolder)))].sort(),
      packages: v.packages.map((p) => presentPackage(p, v.origin)),
    })),
  };
}

function presentPackage(p: PackageDetailRow & { holders: PackageHolder[] }, origin: VersionOrigin) {
  return {
    platform: `${p.os}_${p.arch}`,
    filename: p.filename,
    size: p.size,
    sha256: p.sha256,
    h1: p.h1,
    zh: `zh:${p.sha256}`,
    // How the package came (a pulled one: through pull-through) and whether anyone still installs it.
    origin,
    downloads: p.downloads, // the old name of downloadCount, kept for existing clients
    downloadCount: p.downloads,
    firstDownloadAt: p.firstDownloadAt,
    lastDownloadAt: p.lastDownloadAt,
    heldBy: p.holders.map(formatHolder),
  };
}
