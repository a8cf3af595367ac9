/**
 * The pure half of reconciliation (STYLE rule 9): from the custom resource,
 * what the server reports and the time, decide what to do and what the status
 * should say. No I/O here; reconcile.ts acts on the decision.
 */

import type {
  Condition,
  ConditionStatus,
  ItemFailure,
  ModuleSet,
  ProviderMirror,
  ProviderMirrorStatus,
  ProviderSet,
} from './api/v1alpha1.js';
import type { ServerStatus } from './server-client.js';

export type MirrorResource = ProviderSet | ProviderMirror | ModuleSet;

export const FINALIZER = 'tfmirror.dev/cleanup';
export const POLL_WHILE_RUNNING_MS = 2_000;
export const DEFAULT_SYNC_INTERVAL_MS = 60 * 60_000;
export const MAX_FAILURES = 50;
const MAX_MESSAGE = 4096;

export type Action = 'put' | 'get' | 'delete-and-unfinalize' | 'add-finalizer' | 'none';

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface Decision {
  action: Action;
  /** With action put: ask the server to re-resolve upstream (a ProviderMirror's sync). */
  resync: boolean;
  /** With action delete-and-unfinalize: also remove the packages only this resource holds. */
  purge: boolean;
  /** Reconcile again after this long; undefined = only when the object changes. */
  requeueAfterMs: number | undefined;
  /** The status the resource should have. */
  status: ProviderMirrorStatus;
  /** Kubernetes Events for the condition transitions in `status`. */
  events: EventSpec[];
}

export interface DecideInput {
  object: MirrorResource;
  /** undefined: the server has no record. */
  server: ServerStatus | undefined;
  now: Date;
  /** The server refused this generation's spec with this message. */
  invalidSpec?: string;
}

export function decide({ object, server, now, invalidSpec }: DecideInput): Decision {
  const existing: ProviderMirrorStatus = object.status ?? {};
  const generation = object.metadata.generation ?? 0;
  const policy = object.spec.deletionPolicy ?? 'Retain';
  const finalizers = object.metadata.finalizers ?? [];
  const base = { resync: false, purge: false, requeueAfterMs: undefined, status: existing, events: [] };

  if (object.metadata.deletionTimestamp) {
    if (!finalizers.includes(FINALIZER)) return { ...base, action: 'none' };
    return { ...base, action: 'delete-and-unfinalize', purge: policy === 'Delete' };
  }
  if (policy === 'Delete' && !finalizers.includes(FINALIZER)) return { ...base, action: 'add-finalizer', requeueAfterMs: 0 };

  if (invalidSpec !== undefined) return withStatus(object, 'none', false, undefined, invalidStatus(object, server, invalidSpec, now));
  if (existing.observedGeneration === generation && isInvalidSpec(existing)) {
    // Permanent until the user edits the spec, which bumps the generation.
    return { ...base, action: 'none' };
  }

  const serverCurrent =
    server !== undefined && server.observedGeneration === generation && server.uid === (object.metadata.uid ?? '');
  if (existing.observedGeneration !== generation || !serverCurrent) {
    return withStatus(object, 'put', false, undefined, statusFrom(object, server, now));
  }

  const status = statusFrom(object, server, now);
  const jobActive = server.jobStatus === 'pending' || server.jobStatus === 'running';
  if (object.kind === 'ProviderMirror' && !jobActive && server.lastSyncTime !== null) {
    const dueAt = Date.parse(server.lastSyncTime) + parseDuration(object.spec.syncInterval);
    if (dueAt <= now.getTime()) return withStatus(object, 'put', true, undefined, status);
    return withStatus(object, 'none', false, dueAt - now.getTime(), status);
  }
  if (jobActive) return withStatus(object, 'get', false, POLL_WHILE_RUNNING_MS, status);
  const requeue = object.kind === 'ProviderMirror' ? parseDuration(object.spec.syncInterval) : undefined;
  return withStatus(object, 'none', false, requeue, status);
}

function withStatus(
  object: MirrorResource,
  action: Action,
  resync: boolean,
  requeueAfterMs: number | undefined,
  status: ProviderMirrorStatus,
): Decision {
  return { action, resync, purge: false, requeueAfterMs, status, events: transitionEvents(object.status?.conditions ?? [], status.conditions ?? []) };
}

function isInvalidSpec(status: ProviderMirrorStatus): boolean {
  return (status.conditions ?? []).some((c) => c.type === 'Degraded' && c.status === 'True' && c.reason === 'InvalidSpec');
}

/** Go-style duration ("1h", "30m", "1h30m", "90s"); the default when absent or unparsable. */
export function parseDuration(text: string | undefined, fallbackMs = DEFAULT_SYNC_INTERVAL_MS): number {
  if (!text) return fallbackMs;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text.trim();
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) return fallbackMs;
    total += Number(m[1]) * (unit[m[2] ?? ''] ?? 0);
    rest = rest.slice(m[0].length);
  }
  return total > 0 ? total : fallbackMs;
}

interface ConditionSpec {
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** The status the server's report implies for this generation. */
export function statusFrom(object: MirrorResource, server: ServerStatus | undefined, now: Date): ProviderMirrorStatus {
  if (!server) {
    const waiting: ConditionSpec = { status: 'Unknown', reason: 'Pending', message: 'waiting for the server to accept the spec' };
    return buildStatus(object, now, { desired: 0, ready: 0, failed: 0 }, {
      Ready: { ...waiting, status: 'False' },
      Progressing: { ...waiting, status: 'True' },
      Degraded: { status: 'False', reason: 'AsExpected', message: 'no problems reported' },
    });
  }
  const jobActive = server.jobStatus === 'pending' || server.jobStatus === 'running';
  const progressing = server.pending > 0 || jobActive;
  const problems = server.problems.join('; ');
  const unit = object.kind === 'ModuleSet' ? 'module versions' : 'packages';
  const mirrored = `${server.ready}/${server.desired} ${unit} mirrored`;

  let ready: ConditionSpec;
  if (server.desired > 0 && server.ready === server.desired && server.problems.length === 0) {
    const notices = (server.notices ?? []).join('; ');
    ready = { status: 'True', reason: 'AllMirrored', message: `all ${server.desired} ${unit} mirrored${notices ? ` (${notices})` : ''}` };
  } else if (server.desired === 0 && !progressing) {
    ready = { status: 'False', reason: 'NothingResolved', message: problems || `the spec resolves to no ${unit}` };
  } else if (progressing) {
    ready = { status: 'False', reason: 'Mirroring', message: `${mirrored}, ${server.pending} pending` };
  } else if (server.failed > 0) {
    ready = { status: 'False', reason: 'ItemsFailed', message: `${mirrored}, ${server.failed} failed` };
  } else {
    ready = { status: 'False', reason: 'ProblemsReported', message: problems || mirrored };
  }

  const progressingCond: ConditionSpec = progressing
    ? { status: 'True', reason: 'Mirroring', message: `${server.pending} ${unit} pending (job ${server.jobId ?? 'none'} ${server.jobStatus ?? 'none'})` }
    : { status: 'False', reason: 'Idle', message: 'no mirroring in progress' };

  let degraded: ConditionSpec;
  if (server.failed > 0) degraded = { status: 'True', reason: 'ItemsFailed', message: `${server.failed} ${unit} failed to mirror` };
  else if (server.problems.length > 0) {
    degraded = { status: 'True', reason: server.desired === 0 ? 'NothingResolved' : 'ProblemsReported', message: problems };
  } else degraded = { status: 'False', reason: 'AsExpected', message: 'no problems reported' };

  const status = buildStatus(
    object,
    now,
    { desired: server.desired, ready: server.ready, failed: server.failed },
    { Ready: ready, Progressing: progressingCond, Degraded: degraded },
  );
  if (server.failures.length > 0) status.failures = server.failures.slice(0, MAX_FAILURES).map(failure);
  if (server.lastSyncTime !== null) status.lastSyncTime = server.lastSyncTime;
  if (object.kind === 'ProviderMirror') status.resolvedVersions = [...server.resolvedVersions];
  return status;
}

function invalidStatus(object: MirrorResource, server: ServerStatus | undefined, message: string, now: Date): ProviderMirrorStatus {
  const invalid: ConditionSpec = { status: 'False', reason: 'InvalidSpec', message };
  return buildStatus(
    object,
    now,
    { desired: server?.desired ?? 0, ready: server?.ready ?? 0, failed: server?.failed ?? 0 },
    { Ready: invalid, Progressing: invalid, Degraded: { ...invalid, status: 'True' } },
  );
}

function buildStatus(
  object: MirrorResource,
  now: Date,
  counts: { desired: number; ready: number; failed: number },
  conditions: Record<'Ready' | 'Progressing' | 'Degraded', ConditionSpec>,
): ProviderMirrorStatus {
  const observedGeneration = object.metadata.generation ?? 0;
  const previous = object.status?.conditions ?? [];
  return {
    observedGeneration,
    conditions: (['Ready', 'Progressing', 'Degraded'] as const).map((type) =>
      condition(type, conditions[type], observedGeneration, previous, now),
    ),
    ...counts,
  };
}

/** lastTransitionTime moves only when the status flips. */
function condition(type: string, spec: ConditionSpec, observedGeneration: number, previous: Condition[], now: Date): Condition {
  const before = previous.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === spec.status ? before.lastTransitionTime : rfc3339(now);
  return { type, status: spec.status, observedGeneration, lastTransitionTime, reason: spec.reason, message: spec.message };
}

/** metav1.Time has second precision. */
function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function failure(f: ServerStatus['failures'][number]): ItemFailure {
  const item: ItemFailure = { source: f.source, message: f.message.slice(0, MAX_MESSAGE) };
  if (f.version) item.version = f.version;
  if (f.platform) item.platform = f.platform;
  return item;
}

/** An Event when Ready or Degraded changes status (or first appears). */
function transitionEvents(before: Condition[], after: Condition[]): EventSpec[] {
  const events: EventSpec[] = [];
  for (const c of after) {
    if (c.type === 'Progressing') continue;
    const old = before.find((b) => b.type === c.type);
    if (old && old.status === c.status) continue;
    const bad = (c.type === 'Degraded' && c.status === 'True') || (c.type === 'Ready' && c.status === 'False' && c.reason !== 'Mirroring' && c.reason !== 'Pending');
    if (c.type === 'Degraded' && c.status !== 'True' && !old) continue; // "not degraded" on creation is no news
    events.push({ type: bad ? 'Warning' : 'Normal', reason: c.reason, message: c.message });
  }
  return events;
}

/** Deep equality of JSON values, treating absent and undefined keys alike. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
    for (const k of keys) if (!sameJson(ra[k], rb[k])) return false;
    return true;
  }
  return false;
}
