import { defineStore } from 'pinia';
import { api, ApiError } from '../api';
import { trackRead } from './reads';

export type ConfigDocument = Record<string, unknown>;

/** One line of the configuration as the page lists it: a dotted key (as in TFM_<BLOCK>_<KEY>) and its value. */
export interface ConfigEntry {
  key: string;
  value: string;
  /** The server replaced the value (a secret). */
  redacted: boolean;
}

// What redactConfig (server/src/config/load.ts) puts in place of a secret.
const REDACTED = /^\[redacted\]$/;

/** The nested document as key = value lines, in the server's order: easier to scan and to search than a tree. */
export function flatten(doc: unknown, prefix = ''): ConfigEntry[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    const value = typeof doc === 'string' ? doc : JSON.stringify(doc);
    return [{ key: prefix, value: value ?? 'null', redacted: typeof doc === 'string' && REDACTED.test(doc) }];
  }
  const entries = Object.entries(doc as Record<string, unknown>);
  if (entries.length === 0) return prefix ? [{ key: prefix, value: '{}', redacted: false }] : [];
  return entries.flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

/** The effective configuration, secrets redacted by the server (never here: the browser must not see them). */
export const useConfig = defineStore('config', {
  state: () => ({
    doc: undefined as ConfigDocument | undefined,
    loading: false,
    error: undefined as ApiError | undefined,
  }),
  getters: {
    entries: (s): ConfigEntry[] => (s.doc ? flatten(s.doc) : []),
  },
  actions: {
    async fetch(): Promise<void> {
      await trackRead(this, 'loading', 'error', async () => {
        this.doc = await api().call<ConfigDocument>(api().raw.GET('/admin/api/config'));
      });
    },
  },
});
