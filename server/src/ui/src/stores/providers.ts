import { defineStore } from 'pinia';
import { api, ApiError, type ProviderDetail, type ProviderPage, type ProviderQuery, type ProviderStatus } from '../api';
import { trackRead, withoutEmptyFilters } from './reads';

export const PAGE_SIZE = 25;

export const useProviders = defineStore('providers', {
  state: () => ({
    query: { limit: PAGE_SIZE, offset: 0 } as ProviderQuery,
    page: undefined as ProviderPage | undefined,
    loading: false,
    error: undefined as ApiError | undefined,
    detail: undefined as ProviderDetail | undefined,
    detailLoading: false,
    detailError: undefined as ApiError | undefined,
  }),
  actions: {
    async fetch(query?: ProviderQuery): Promise<void> {
      const clean = withoutEmptyFilters(query ?? this.query);
      this.query = clean;
      await trackRead(this, 'loading', 'error', async () => {
        this.page = await api().providers(clean);
      });
    },
    async fetchDetail(id: number): Promise<void> {
      if (this.detail?.id !== id) this.detail = undefined;
      await trackRead(this, 'detailLoading', 'detailError', async () => {
        this.detail = await api().provider(id);
      });
    },
    async setStatus(id: number, status: ProviderStatus): Promise<void> {
      await api().setProviderStatus(id, status);
      await this.fetchDetail(id);
    },
    async remove(id: number): Promise<void> {
      await api().deleteProvider(id);
      this.detail = undefined;
    },
  },
});
