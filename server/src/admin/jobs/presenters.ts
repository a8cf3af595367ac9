import type { Job, JobItem, JobProgress, JobSummary } from '../../db/jobs.js';
import { isModuleItem } from '../../loads/plan-modules.js';
import type { LoadOutcome } from './service.js';

/**
 * Admin API views of jobs. Fields are listed explicitly: leases, owners and
 * retry schedules are the queue's business. Timestamps become ISO strings.
 */

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function presentProgress(p: JobProgress) {
  return {
    total: p.total,
    pending: p.pending,
    retrying: p.retrying,
    running: p.running,
    succeeded: p.succeeded,
    skipped: p.skipped,
    failed: p.failed,
    bytesDone: p.bytesDone,
    bytesTotal: p.bytesTotal,
  };
}

export function presentJobSummary(j: JobSummary) {
  return {
    id: j.id,
    kind: j.kind,
    status: j.status,
    progress: presentProgress(j.progress),
    createdAt: iso(j.createdAt),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
    requestedBy: j.requestedBy,
  };
}

export function presentJobList(page: { jobs: JobSummary[]; total: number }) {
  return { items: page.jobs.map(presentJobSummary), total: page.total };
}

function presentItem(i: JobItem) {
  return {
    // Derived, not stored: a module item is the one without a platform.
    kind: isModuleItem(i) ? ('module' as const) : ('provider' as const),
    source: i.source,
    version: i.version,
    platform: i.platform,
    status: i.status,
    error: i.error,
    attempts: i.attempts,
    bytesDone: i.bytesDone,
    bytesTotal: i.bytesTotal,
  };
}

export function presentJob(j: Job) {
  return { ...presentJobSummary(j), items: j.items.map(presentItem) };
}

export function presentLoadAccepted(o: LoadOutcome) {
  // Notices only when there are any, so the usual answer reads as before.
  return { jobId: o.jobId, items: o.items, problems: o.problems, ...(o.notices.length > 0 ? { notices: o.notices } : {}) };
}

/** A dry run's answer: what a load would queue, one entry per job item it would create. */
export function presentLoadPlan(plan: { items: { source: string; version: string; platform: string }[]; problems: string[]; notices: string[] }) {
  return {
    items: plan.items.map((i) => ({ kind: isModuleItem(i) ? ('module' as const) : ('provider' as const), source: i.source, version: i.version, platform: i.platform })),
    problems: plan.problems,
    notices: plan.notices,
  };
}

export function presentRetried(o: { jobId: number; retried: number }) {
  return { jobId: o.jobId, retried: o.retried };
}
