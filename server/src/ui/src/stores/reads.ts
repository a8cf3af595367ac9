import { ApiError } from '../api';

export function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError({ status: 0, message: (err as Error).message ?? String(err) });
}

/** The string filters a list query may carry: '' (a cleared form field) and undefined both mean "any". */
export function withoutEmptyFilters<Q extends object>(query: Q): Q {
  // The API refuses an empty string where it expects text, so cleared filters are left out rather than sent.
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== '' && v !== undefined)) as Q;
}

/**
 * One read of a store's data with the flags its page shows: `loading` is up
 * while it runs; `error` is cleared when it succeeds and says what went wrong
 * when it fails, the data read before staying on the page beside it.
 */
export async function trackRead<L extends string, E extends string>(
  store: Record<L, boolean> & Record<E, ApiError | undefined>,
  loading: L,
  error: E,
  read: () => Promise<void>,
): Promise<void> {
  // The signature checks the two fields' types; written through a plain record (TypeScript cannot index an intersection by a generic key).
  const flags = store as Record<string, unknown>;
  flags[loading] = true;
  try {
    await read();
    flags[error] = undefined;
  } catch (err) {
    flags[error] = asApiError(err);
  } finally {
    flags[loading] = false;
  }
}
