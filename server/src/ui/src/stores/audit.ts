import { defineStore } from 'pinia';
import { api, ApiError, type QueryOf, type ResponseOf } from '../api';
import { trackRead } from './reads';

export type AuditPage = ResponseOf<'/admin/api/stats/audit', 'get'>;
export type AuditEntry = AuditPage['items'][number];
export type AuditQuery = QueryOf<'/admin/api/stats/audit'>;

export const AUDIT_PAGE_SIZE = 50;

/** The filters as the form holds them: text fields, '' meaning "any". Times are local datetime-local values. */
export interface AuditFilters {
  actor: string;
  action: string;
  resource: string;
  outcome: '' | 'success' | 'failure';
  since: string;
  until: string;
}

export const emptyFilters = (): AuditFilters => ({ actor: '', action: '', resource: '', outcome: '', since: '', until: '' });

/**
 * The form's filters as the API's query. A datetime-local value has no
 * offset; the API wants one, so it is read as the browser's local time and
 * sent as UTC. Empty fields are left out (the API refuses empty strings).
 */
export function toQuery(f: AuditFilters, offset = 0, limit = AUDIT_PAGE_SIZE): AuditQuery {
  const q: AuditQuery = { limit, offset };
  const actor = f.actor.trim();
  const action = f.action.trim();
  const resource = f.resource.trim();
  if (actor) q.actor = actor;
  if (action) q.action = action;
  if (resource) q.resource = resource;
  if (f.outcome) q.outcome = f.outcome;
  const since = localToIso(f.since);
  const until = localToIso(f.until);
  if (since) q.since = since;
  if (until) q.until = until;
  return q;
}

function localToIso(value: string): string | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** The audit log, newest first: who changed what, filtered and paged by the server. */
export const useAudit = defineStore('audit', {
  state: () => ({
    filters: emptyFilters(),
    offset: 0,
    page: undefined as AuditPage | undefined,
    loading: false,
    error: undefined as ApiError | undefined,
  }),
  getters: {
    filtered: (s) => Object.values(s.filters).some((v) => v !== ''),
  },
  actions: {
    async fetch(offset?: number): Promise<void> {
      if (offset !== undefined) this.offset = offset;
      await trackRead(this, 'loading', 'error', async () => {
        const query = toQuery(this.filters, this.offset);
        this.page = await api().call<AuditPage>(api().raw.GET('/admin/api/stats/audit', { params: { query } }));
      });
    },
    /** New filters start again at the first page: the old offset may be past the end of the new result. */
    search(): Promise<void> {
      return this.fetch(0);
    },
    clear(): Promise<void> {
      this.filters = emptyFilters();
      return this.fetch(0);
    },
  },
});
