import { defineStore } from 'pinia';
import { api, ApiError, type ResponseOf } from '../api';
import { asApiError, trackRead } from './reads';

export type SetList = ResponseOf<'/admin/api/provider-sets', 'get'>;
export type SetRecord = SetList['items'][number];
export type SetKind = SetRecord['kind'];
export type SetStatus = ResponseOf<'/admin/api/provider-sets/{kind}/{namespace}/{name}', 'get'>;

export interface SetKey {
  kind: SetKind;
  namespace: string;
  name: string;
}

export interface Condition {
  type: 'Ready' | 'Progressing' | 'Degraded';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/**
 * The conditions the operator writes to the custom resource, derived from
 * the same server status by the same rules (operator/src/decide.ts
 * statusFrom): the UI shows what `kubectl get` shows without reading the
 * cluster. The operator is not imported: it is a separate program, and its
 * module pulls in the Kubernetes client.
 */
export function conditionsOf(s: SetStatus): Condition[] {
  const jobActive = s.jobStatus === 'pending' || s.jobStatus === 'running';
  const progressing = s.pending > 0 || jobActive;
  const problems = s.problems.join('; ');
  const mirrored = `${s.ready}/${s.desired} packages mirrored`;
  let ready: Condition;
  if (s.desired > 0 && s.ready === s.desired && s.problems.length === 0) {
    const notices = (s.notices ?? []).join('; ');
    ready = { type: 'Ready', status: 'True', reason: 'AllMirrored', message: `all ${s.desired} packages mirrored${notices ? ` (${notices})` : ''}` };
  } else if (s.desired === 0 && !progressing) {
    ready = { type: 'Ready', status: 'False', reason: 'NothingResolved', message: problems || 'the spec resolves to no packages' };
  } else if (progressing) {
    ready = { type: 'Ready', status: 'False', reason: 'Mirroring', message: `${mirrored}, ${s.pending} pending` };
  } else if (s.failed > 0) {
    ready = { type: 'Ready', status: 'False', reason: 'ItemsFailed', message: `${mirrored}, ${s.failed} failed` };
  } else {
    ready = { type: 'Ready', status: 'False', reason: 'ProblemsReported', message: problems || mirrored };
  }
  const progressingCond: Condition = progressing
    ? { type: 'Progressing', status: 'True', reason: 'Mirroring', message: `${s.pending} packages pending (job ${s.jobId ?? 'none'} ${s.jobStatus ?? 'none'})` }
    : { type: 'Progressing', status: 'False', reason: 'Idle', message: 'no mirroring in progress' };
  let degraded: Condition;
  if (s.failed > 0) degraded = { type: 'Degraded', status: 'True', reason: 'ItemsFailed', message: `${s.failed} packages failed to mirror` };
  else if (s.problems.length > 0) degraded = { type: 'Degraded', status: 'True', reason: s.desired === 0 ? 'NothingResolved' : 'ProblemsReported', message: problems };
  else degraded = { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'no problems reported' };
  return [ready, progressingCond, degraded];
}

/** One word for a list row: what the Ready and Degraded conditions say together. */
export function summaryOf(s: SetStatus): 'ready' | 'mirroring' | 'degraded' | 'empty' {
  const [ready, progressing, degraded] = conditionsOf(s);
  if (ready?.status === 'True') return 'ready';
  if (progressing?.status === 'True') return 'mirroring';
  if (degraded?.status === 'True') return 'degraded';
  return 'empty';
}

export const keyOf = (k: SetKey): string => `${k.kind}/${k.namespace}/${k.name}`;

/**
 * Provider sets, mirrors and module sets as the server holds them for the
 * Kubernetes operator: read-only here, since their spec belongs to the cluster
 * (GitOps); a change made in the UI would be undone by the next reconcile.
 */
export const useSets = defineStore('sets', {
  state: () => ({
    items: undefined as SetRecord[] | undefined,
    /** Status per set, loaded beside the list (the list itself carries only identities). */
    statuses: {} as Record<string, SetStatus | ApiError>,
    loading: false,
    error: undefined as ApiError | undefined,
    detail: undefined as SetStatus | undefined,
    detailKey: undefined as string | undefined,
    detailLoading: false,
    detailError: undefined as ApiError | undefined,
  }),
  actions: {
    async fetch(): Promise<void> {
      await trackRead(this, 'loading', 'error', async () => {
        const list = await api().call<SetList>(api().raw.GET('/admin/api/provider-sets'));
        const statuses = await Promise.allSettled(list.items.map((r) => this.status(r)));
        const next: Record<string, SetStatus | ApiError> = {};
        list.items.forEach((r, i) => {
          const s = statuses[i]!;
          next[keyOf(r)] = s.status === 'fulfilled' ? s.value : asApiError(s.reason);
        });
        // Rows and their states appear together: a row without its state would read as "unknown".
        this.statuses = next;
        this.items = list.items;
      });
    },
    status(key: SetKey): Promise<SetStatus> {
      return api().call<SetStatus>(api().raw.GET('/admin/api/provider-sets/{kind}/{namespace}/{name}', { params: { path: { ...key } } }));
    },
    async fetchDetail(key: SetKey): Promise<void> {
      // Another set's status must not show under this one's heading while it loads.
      if (this.detailKey !== keyOf(key)) this.detail = undefined;
      this.detailKey = keyOf(key);
      await trackRead(this, 'detailLoading', 'detailError', async () => {
        this.detail = await this.status(key);
      });
    },
  },
});
