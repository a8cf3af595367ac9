import { defineStore } from 'pinia';
import { api, ApiError, type ProviderDetail, type ProviderPage, type ProviderQuery, type ProviderStatus } from '../api';
import { asApiError } from './jobs';

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
      // Empty filters are left out: the API refuses an empty string where it expects a name.
      const clean = Object.fromEntries(Object.entries(query ?? this.query).filter(([, v]) => v !== '' && v !== undefined)) as ProviderQuery;
      this.query = clean;
      this.loading = true;
      try {
        this.page = await api().providers(clean);
        this.error = undefined;
      } catch (err) {
        this.error = asApiError(err);
      } finally {
        this.loading = false;
      }
    },
    async fetchDetail(id: number): Promise<void> {
      if (this.detail?.id !== id) this.detail = undefined;
      this.detailLoading = true;
      try {
        this.detail = await api().provider(id);
        this.detailError = undefined;
      } catch (err) {
        this.detailError = asApiError(err);
      } finally {
        this.detailLoading = false;
      }
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
