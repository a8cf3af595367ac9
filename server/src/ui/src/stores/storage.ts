import { defineStore } from 'pinia';
import { api, ApiError, type StorageReport } from '../api';
import { trackRead } from './reads';

export interface Share {
  label: string;
  bytes: number;
  /** Of the total, 0–100, one decimal. */
  percent: number;
}

/** Each row's share of the total bytes, largest first (the report's order is kept for equal sizes). */
export function shares<T>(rows: readonly T[], label: (r: T) => string, bytes: (r: T) => number, total: number): Share[] {
  return rows
    .map((r) => ({ label: label(r), bytes: bytes(r), percent: total > 0 ? Math.round((bytes(r) / total) * 1000) / 10 : 0 }))
    .sort((a, b) => b.bytes - a.bytes);
}

/** The storage report: totals, per registry and namespace, the largest providers and packages. */
export const useStorage = defineStore('storage', {
  state: () => ({
    report: undefined as StorageReport | undefined,
    loading: false,
    error: undefined as ApiError | undefined,
  }),
  getters: {
    byHostname: (s): Share[] => (s.report ? shares(s.report.byHostname, (r) => r.hostname, (r) => r.bytes, s.report.totals.bytes) : []),
    byNamespace: (s): Share[] =>
      s.report ? shares(s.report.byNamespace, (r) => `${r.hostname}/${r.namespace}`, (r) => r.bytes, s.report.totals.bytes) : [],
  },
  actions: {
    async fetch(): Promise<void> {
      await trackRead(this, 'loading', 'error', async () => {
        this.report = await api().storage();
      });
    },
  },
});
