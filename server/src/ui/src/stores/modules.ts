import { defineStore } from 'pinia';
import { api, ApiError } from '../api';
import { asApiError } from './jobs';

/*
 * The module admin API's shapes, as server/src/admin/modules/schemas.ts
 * declares them. They are written out here until the generated client
 * (gen:ui-api) has the module routes; then these become ResponseOf<…> types
 * and the untyped calls below typed ones.
 */
export type ModuleStatus = 'active' | 'deprecated' | 'blocked';

export interface ModuleSummary {
  id: number;
  source: string;
  status: ModuleStatus;
  versions: number;
  bytes: number;
  downloads: number;
  lastDownloadAt: string | null;
  createdAt: string;
}

export interface ModulePage {
  items: ModuleSummary[];
  total: number;
  limit: number;
  offset: number;
}

export interface ModuleVersion {
  version: string;
  location: string;
  sourceKind: 'git' | 'archive';
  commit: string | null;
  subdir: string | null;
  sha256: string;
  size: number;
  files: number;
  downloads: number;
  lastDownloadAt: string | null;
  createdAt: string;
  heldBy: string[];
  drift: { upstreamCommit: string; checkedAt: string | null } | null;
  driftCheckedAt: string | null;
}

export interface ModuleDetail {
  id: number;
  source: string;
  hostname: string;
  namespace: string;
  name: string;
  system: string;
  status: ModuleStatus;
  createdAt: string;
  versions: ModuleVersion[];
}

export interface DriftReport {
  checked: number;
  drifted: string[];
  problems: { version: string; message: string }[];
  module: ModuleDetail;
}

export interface ModuleQuery {
  query?: string;
  status?: ModuleStatus;
  hostname?: string;
  limit: number;
  offset: number;
}

export const MODULE_PAGE_SIZE = 25;

type Outcome<T> = { data?: T; error?: unknown; response: Response };
type UntypedCall = <T>(path: string, init?: { params?: { path?: Record<string, unknown>; query?: Record<string, unknown> }; body?: unknown }) => Promise<Outcome<T>>;

/** The client's own call path (its token, its error handling), for routes its generated types do not know yet. */
function untyped(method: 'GET' | 'PATCH' | 'DELETE' | 'POST'): UntypedCall {
  return api().raw[method] as unknown as UntypedCall;
}

/** Module versions the mirror holds: browse, block/deprecate, delete, and ask git upstreams whether a tag moved. */
export const useModules = defineStore('modules', {
  state: () => ({
    query: { limit: MODULE_PAGE_SIZE, offset: 0 } as ModuleQuery,
    page: undefined as ModulePage | undefined,
    loading: false,
    error: undefined as ApiError | undefined,
    detail: undefined as ModuleDetail | undefined,
    detailLoading: false,
    detailError: undefined as ApiError | undefined,
    drift: undefined as Omit<DriftReport, 'module'> | undefined,
  }),
  actions: {
    async fetch(query?: ModuleQuery): Promise<void> {
      // Empty filters are left out: the API refuses an empty string where it expects text.
      const clean = Object.fromEntries(Object.entries(query ?? this.query).filter(([, v]) => v !== '' && v !== undefined)) as unknown as ModuleQuery;
      this.query = clean;
      this.loading = true;
      try {
        this.page = await api().call<ModulePage>(untyped('GET')<ModulePage>('/admin/api/modules', { params: { query: { ...clean } } }));
        this.error = undefined;
      } catch (err) {
        this.error = asApiError(err);
      } finally {
        this.loading = false;
      }
    },
    async fetchDetail(id: number): Promise<void> {
      if (this.detail?.id !== id) {
        this.detail = undefined;
        this.drift = undefined;
      }
      this.detailLoading = true;
      try {
        this.detail = await api().call<ModuleDetail>(untyped('GET')<ModuleDetail>('/admin/api/modules/{id}', { params: { path: { id } } }));
        this.detailError = undefined;
      } catch (err) {
        this.detailError = asApiError(err);
      } finally {
        this.detailLoading = false;
      }
    },
    async setStatus(id: number, status: ModuleStatus): Promise<void> {
      this.detail = await api().call<ModuleDetail>(untyped('PATCH')<ModuleDetail>('/admin/api/modules/{id}', { params: { path: { id } }, body: { status } }));
    },
    async remove(id: number): Promise<void> {
      await api().call(untyped('DELETE')('/admin/api/modules/{id}', { params: { path: { id } } }));
      this.detail = undefined;
    },
    async checkDrift(id: number): Promise<void> {
      const report = await api().call<DriftReport>(untyped('POST')<DriftReport>('/admin/api/modules/{id}/drift', { params: { path: { id } } }));
      const { module, ...rest } = report;
      this.detail = module;
      this.drift = rest;
    },
  },
});
