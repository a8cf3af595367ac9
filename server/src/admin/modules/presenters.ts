import { formatHolder } from '../../db/package-holders.js';
import type { ModuleSummaryRow } from '../../db/modules.js';
import type { ModuleAddress } from '../../modules/ports.js';
import type { DriftOutcome, ModuleDetail, ModuleVersionDetail } from './service.js';

/**
 * Admin API views of modules. Each lists its output fields explicitly:
 * archive keys and internal version ids stay inside.
 */

export function moduleSourceOf(a: ModuleAddress): string {
  return `${a.hostname}/${a.namespace}/${a.name}/${a.system}`;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function presentModuleSummary(m: ModuleSummaryRow) {
  return {
    id: m.id,
    source: moduleSourceOf(m),
    status: m.status,
    versions: m.versions,
    bytes: m.bytes,
    downloads: m.downloads,
    lastDownloadAt: iso(m.lastDownloadAt),
    createdAt: iso(m.createdAt)!,
  };
}

export function presentModuleList(page: { items: ModuleSummaryRow[]; total: number }, paging: { limit: number; offset: number }) {
  return { items: page.items.map(presentModuleSummary), total: page.total, limit: paging.limit, offset: paging.offset };
}

function presentVersion(v: ModuleVersionDetail) {
  return {
    version: v.version,
    location: v.location,
    sourceKind: v.sourceKind,
    commit: v.commit,
    subdir: v.subdir,
    sha256: v.sha256,
    size: v.size,
    files: v.files,
    downloads: v.downloadCount,
    lastDownloadAt: iso(v.lastDownloadAt),
    createdAt: iso(v.createdAt)!,
    // Who brought or holds it (pulled, loaded, imported, set:{kind}/{namespace}/{name}); a set's purge removes it only when nothing else does.
    heldBy: v.holders.map(formatHolder),
    // The tag moved upstream since it was pinned: the pinned commit is still what is served.
    drift: v.driftCommit === null ? null : { upstreamCommit: v.driftCommit, checkedAt: iso(v.driftCheckedAt) },
    driftCheckedAt: iso(v.driftCheckedAt),
  };
}

export function presentModuleDetail(d: ModuleDetail) {
  return {
    id: d.module.id,
    source: moduleSourceOf(d.module),
    hostname: d.module.hostname,
    namespace: d.module.namespace,
    name: d.module.name,
    system: d.module.system,
    status: d.module.status,
    createdAt: iso(d.module.createdAt)!,
    versions: d.versions.map(presentVersion),
  };
}

export function presentDrift(o: DriftOutcome) {
  return { checked: o.checked, drifted: o.drifted, problems: o.problems, module: presentModuleDetail(o.detail) };
}
