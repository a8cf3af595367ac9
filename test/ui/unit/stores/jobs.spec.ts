import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setApi } from '../../../../server/src/ui/src/api';
import { POLL_INTERVAL_MS, useJobs } from '../../../../server/src/ui/src/stores/jobs';
import { apiOver, fakeServer } from '../fake-server';

const progress = { total: 2, pending: 0, retrying: 0, running: 0, succeeded: 0, skipped: 0, failed: 0, bytesDone: 0, bytesTotal: 0 };
function job(status: string, extra: Partial<typeof progress> = {}) {
  return { id: 5, kind: 'load', status, progress: { ...progress, ...extra }, createdAt: null, startedAt: null, finishedAt: null, requestedBy: 'user:ada', items: [] };
}

describe('jobs store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.useFakeTimers();
  });
  afterEach(() => {
    useJobs().stopWatching();
    vi.useRealTimers();
  });

  it('polls a running job each second and stops once it has finished', async () => {
    const answers = [job('pending'), job('running', { running: 1 }), job('running', { succeeded: 1, running: 1 }), job('succeeded', { succeeded: 2 })];
    let calls = 0;
    const server = fakeServer({ 'GET /admin/api/jobs/5': () => ({ body: answers[Math.min(calls++, answers.length - 1)] }) });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const jobs = useJobs();
    await jobs.watch(5);
    expect(jobs.job?.status).toBe('pending');
    expect(jobs.polling).toBe(true);
    for (let i = 0; i < 3; i++) await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS);
    expect(jobs.job?.status).toBe('succeeded');
    expect(jobs.polling).toBe(false);
    await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS * 5);
    expect(server.seen).toHaveLength(4);
  });

  it('stops polling when the page leaves, and a late answer does not overwrite what is shown', async () => {
    const server = fakeServer({ 'GET /admin/api/jobs/5': { body: job('running') } });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const jobs = useJobs();
    await jobs.watch(5);
    jobs.stopWatching();
    await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS * 3);
    expect(server.seen).toHaveLength(1);
  });

  it('keeps polling through a passing error, but not past a missing job', async () => {
    let calls = 0;
    const server = fakeServer({
      'GET /admin/api/jobs/5': () => (calls++ === 0 ? { status: 503, body: { error: { message: 'busy' } } } : { body: job('succeeded') }),
      'GET /admin/api/jobs/6': { status: 404, body: { error: { message: 'no such job' } } },
    });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const jobs = useJobs();
    await jobs.watch(5);
    expect(jobs.jobError?.status).toBe(503);
    await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS);
    expect(jobs.job?.status).toBe('succeeded');
    expect(jobs.jobError).toBeUndefined();
    await jobs.watch(6);
    expect(jobs.jobError?.status).toBe(404);
    expect(jobs.polling).toBe(false);
    await vi.advanceTimersByTimeAsync(POLL_INTERVAL_MS * 3);
    expect(server.seen.filter((s) => s.path.endsWith('/6'))).toHaveLength(1);
  });

  it('retry queues the failed items and watches the job again', async () => {
    const server = fakeServer({
      'POST /admin/api/jobs/5/retry': { status: 202, body: { jobId: 5, retried: 2 } },
      'GET /admin/api/jobs/5': { body: job('running') },
    });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const jobs = useJobs();
    expect(await jobs.retry(5)).toBe(2);
    expect(jobs.polling).toBe(true);
    expect(server.seen.map((s) => `${s.method} ${s.path}`)).toEqual(['POST /admin/api/jobs/5/retry', 'GET /admin/api/jobs/5']);
  });
});
