import { defineStore } from 'pinia';
import { api, ApiError, type JobSummary, type PullThroughReport, type StorageReport } from '../api';
import { asApiError } from './jobs';

export const RECENT_JOBS = 8;

/** The dashboard's sources load side by side; each fails on its own, so one error leaves the other shown. */
export const useDashboard = defineStore('dashboard', {
  state: () => ({
    storage: undefined as StorageReport | undefined,
    storageError: undefined as ApiError | undefined,
    jobs: undefined as JobSummary[] | undefined,
    jobsError: undefined as ApiError | undefined,
    /** undefined: not loaded yet, or a server from before the pull-through report (404). */
    pull: undefined as PullThroughReport | undefined,
    /** undefined: the server has no module API. */
    modules: undefined as number | undefined,
    pullError: undefined as ApiError | undefined,
    loading: false,
  }),
  actions: {
    async load(): Promise<void> {
      this.loading = true;
      const [storage, jobs, pull, modules] = await Promise.allSettled([
        api().storage(),
        api().jobs({ limit: RECENT_JOBS, offset: 0 }),
        api().pullThrough(),
        api().modulesTotal(),
      ]);
      // A count the page cannot get is left out rather than shown as an error: the other figures stand.
      this.modules = modules.status === 'fulfilled' ? modules.value : undefined;
      if (storage.status === 'fulfilled') {
        this.storage = storage.value;
        this.storageError = undefined;
      } else this.storageError = asApiError(storage.reason);
      if (jobs.status === 'fulfilled') {
        this.jobs = jobs.value.items;
        this.jobsError = undefined;
      } else this.jobsError = asApiError(jobs.reason);
      if (pull.status === 'fulfilled') {
        this.pull = pull.value;
        this.pullError = undefined;
      } else {
        const error = asApiError(pull.reason);
        // An older server has no such route: the panel says so instead of showing an error.
        this.pull = undefined;
        this.pullError = error.status === 404 ? undefined : error;
      }
      this.loading = false;
    },
  },
});
