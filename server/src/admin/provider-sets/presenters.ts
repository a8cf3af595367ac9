import type { ProviderSetStatus } from './service.js';

/** The status the operator copies into the custom resource; fields listed explicitly, times as ISO strings. */
export function presentStatus(s: ProviderSetStatus) {
  return {
    namespace: s.namespace,
    name: s.name,
    uid: s.uid,
    observedGeneration: s.observedGeneration,
    desired: s.desired,
    ready: s.ready,
    failed: s.failed,
    pending: s.pending,
    jobId: s.jobId,
    jobStatus: s.jobStatus,
    failures: s.failures.map((f) => ({ source: f.source, version: f.version, platform: f.platform, message: f.message })),
    resolvedVersions: s.resolvedVersions,
    problems: s.problems,
    // Only when there are any, so a status without notices reads as before.
    ...(s.notices.length > 0 ? { notices: s.notices } : {}),
    lastSyncTime: s.lastSyncTime === null ? null : new Date(s.lastSyncTime).toISOString(),
  };
}
