import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../../server/src/ui/src/api';
import { trackRead, withoutEmptyFilters } from '../../../../server/src/ui/src/stores/reads';

describe('store reads', () => {
  it('a read raises its loading flag while it runs and clears an earlier error when it succeeds', async () => {
    const store = { loading: false, error: new ApiError({ status: 503, message: 'down' }) as ApiError | undefined, data: 0 };
    let during: boolean | undefined;
    await trackRead(store, 'loading', 'error', async () => {
      during = store.loading;
      store.data = 1;
    });
    expect(during).toBe(true);
    expect(store).toEqual({ loading: false, error: undefined, data: 1 });
  });

  it('a failed read keeps the data read before and says why, also for an error that is not the API\'s', async () => {
    const store = { detailLoading: false, detailError: undefined as ApiError | undefined, data: 1 };
    await trackRead(store, 'detailLoading', 'detailError', async () => {
      throw new ApiError({ status: 404, message: 'module 7 not found' });
    });
    expect(store.detailLoading).toBe(false);
    expect(store.data).toBe(1);
    expect(store.detailError?.status).toBe(404);
    await trackRead(store, 'detailLoading', 'detailError', async () => {
      throw new TypeError('Failed to fetch');
    });
    expect(store.detailError).toBeInstanceOf(ApiError);
    expect(store.detailError?.status).toBe(0);
    expect(store.detailError?.message).toBe('Failed to fetch');
  });

  it('cleared form fields are left out of a list query; zero and text stay', () => {
    expect(withoutEmptyFilters({ q: '', hostname: undefined, status: 'blocked', offset: 0, limit: 25 })).toEqual({ status: 'blocked', offset: 0, limit: 25 });
  });
});
