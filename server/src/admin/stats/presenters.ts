import type { ModuleStorageStats } from '../../db/modules.js';
import type { HostnameUsage, NamespaceUsage, PackageUsage, StorageStats, StorageTotals } from '../../db/providers.js';
import { presentProviderSummary, sourceOf } from '../providers/presenters.js';
import type { PullThroughReport, PullThroughTotals } from './pull-through.js';

/** The storage report as the admin API shows it; fields listed explicitly, object keys left out. */

function presentTotals(t: StorageTotals) {
  return { providers: t.providers, versions: t.versions, packages: t.packages, bytes: t.bytes, downloads: t.downloads };
}

function presentHostname(h: HostnameUsage) {
  return { hostname: h.hostname, ...presentTotals(h) };
}

function presentNamespace(n: NamespaceUsage) {
  return { hostname: n.hostname, namespace: n.namespace, ...presentTotals(n) };
}

function presentPackageUsage(p: PackageUsage) {
  return {
    providerId: p.providerId,
    source: sourceOf(p),
    version: p.version,
    platform: `${p.os}_${p.arch}`,
    filename: p.filename,
    size: p.size,
    downloads: p.downloads,
    lastDownloadAt: p.lastDownloadAt,
  };
}

export function presentStorageStats(s: StorageStats & { modules: ModuleStorageStats }) {
  return {
    modules: { modules: s.modules.modules, versions: s.modules.versions, bytes: s.modules.bytes },
    totals: presentTotals(s.totals),
    byHostname: s.byHostname.map(presentHostname),
    byNamespace: s.byNamespace.map(presentNamespace),
    byProvider: s.byProvider.map(presentProviderSummary),
    largestPackages: s.largestPackages.map(presentPackageUsage),
    mostDownloaded: s.mostDownloaded.map(presentPackageUsage),
  };
}

function presentPullTotals(t: PullThroughTotals) {
  return {
    misses: t.misses,
    hits: t.hits,
    pulled: t.pulled,
    stale: t.stale,
    refused: t.refused,
    coalesced: t.coalesced,
    failed: t.failed,
    hitRatio: t.hitRatio,
  };
}

export function presentPullThrough(r: PullThroughReport) {
  return {
    enabled: r.enabled,
    hitRatio: r.total.hitRatio,
    providers: presentPullTotals(r.providers),
    modules: presentPullTotals(r.modules),
    total: presentPullTotals(r.total),
    upstreams: r.upstreams.map((u) => ({
      hostname: u.hostname,
      state: u.state,
      retryAt: u.state === 'backing_off' && u.retryAt !== undefined ? new Date(u.retryAt).toISOString() : null,
      consecutiveFailures: u.consecutiveFailures,
    })),
  };
}
