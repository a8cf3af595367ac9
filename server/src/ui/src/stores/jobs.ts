import { defineStore } from 'pinia';
import { api, ApiError, type JobDetail, type JobPage, type JobQuery, type JobStatus } from '../api';
import { asApiError, trackRead } from './reads';

/** How often a running job is asked for its progress (the issue asks for at most a second). */
export const POLL_INTERVAL_MS = 1000;

export function isFinished(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

let pollTimer: ReturnType<typeof setTimeout> | undefined;
// Bumped on every watch/stop, so an answer that arrives after the page moved on is dropped.
let generation = 0;

export const useJobs = defineStore('jobs', {
  state: () => ({
    page: undefined as JobPage | undefined,
    query: { limit: 25, offset: 0 } as JobQuery,
    listLoading: false,
    listError: undefined as ApiError | undefined,
    job: undefined as JobDetail | undefined,
    jobError: undefined as ApiError | undefined,
    polling: false,
  }),
  actions: {
    async fetchList(query?: JobQuery): Promise<void> {
      if (query) this.query = query;
      await trackRead(this, 'listLoading', 'listError', async () => {
        this.page = await api().jobs(this.query);
      });
    },
    /** Shows one job and keeps asking for it each second until it has finished. */
    async watch(id: number): Promise<void> {
      this.stopWatching();
      const mine = ++generation;
      if (this.job?.id !== id) this.job = undefined;
      this.polling = true;
      await this.poll(id, mine);
    },
    async poll(id: number, mine: number): Promise<void> {
      try {
        const job = await api().job(id);
        if (mine !== generation) return;
        this.job = job;
        this.jobError = undefined;
        if (isFinished(job.status)) {
          this.polling = false;
          return;
        }
      } catch (err) {
        if (mine !== generation) return;
        this.jobError = asApiError(err);
        // A missing job or a refused session will not get better by asking again.
        if (this.jobError.status === 404 || this.jobError.status === 401 || this.jobError.status === 403) {
          this.polling = false;
          return;
        }
      }
      pollTimer = setTimeout(() => void this.poll(id, mine), POLL_INTERVAL_MS);
    },
    stopWatching(): void {
      generation++;
      clearTimeout(pollTimer);
      pollTimer = undefined;
      this.polling = false;
    },
    async retry(id: number): Promise<number> {
      const { retried } = await api().retryJob(id);
      await this.watch(id);
      return retried;
    },
  },
});

// Kept importable from here for the pages and stores that already do.
export { asApiError };
