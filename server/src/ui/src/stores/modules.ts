import { defineStore } from 'pinia';
import { api, ApiError, type QueryOf, type ResponseOf } from '../api';
import { trackRead, withoutEmptyFilters } from './reads';

export type ModulePage = ResponseOf<'/admin/api/modules', 'get'>;
export type ModuleSummary = ModulePage['items'][number];
export type ModuleStatus = ModuleSummary['status'];
export type ModuleDetail = ResponseOf<'/admin/api/modules/{id}', 'get'>;
export type ModuleVersion = ModuleDetail['versions'][number];
export type DriftReport = ResponseOf<'/admin/api/modules/{id}/drift', 'post'>;
export type ModuleQuery = QueryOf<'/admin/api/modules'>;

export const MODULE_PAGE_SIZE = 25;

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
      const clean = withoutEmptyFilters(query ?? this.query);
      this.query = clean;
      await trackRead(this, 'loading', 'error', async () => {
        this.page = await api().call<ModulePage>(api().raw.GET('/admin/api/modules', { params: { query: clean } }));
      });
    },
    async fetchDetail(id: number): Promise<void> {
      if (this.detail?.id !== id) {
        this.detail = undefined;
        this.drift = undefined;
      }
      await trackRead(this, 'detailLoading', 'detailError', async () => {
        this.detail = await api().call<ModuleDetail>(api().raw.GET('/admin/api/modules/{id}', { params: { path: { id } } }));
      });
    },
    async setStatus(id: number, status: ModuleStatus): Promise<void> {
      this.detail = await api().call<ModuleDetail>(api().raw.PATCH('/admin/api/modules/{id}', { params: { path: { id } }, body: { status } }));
    },
    async remove(id: number): Promise<void> {
      await api().call(api().raw.DELETE('/admin/api/modules/{id}', { params: { path: { id } } }));
      this.detail = undefined;
    },
    async checkDrift(id: number): Promise<void> {
      const report = await api().call<DriftReport>(api().raw.POST('/admin/api/modules/{id}/drift', { params: { path: { id } } }));
      const { module, ...rest } = report;
      this.detail = module;
      this.drift = rest;
    },
  },
});
