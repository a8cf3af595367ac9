import type { paths } from './schema';

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

/** The JSON body the admin API answers for one path, method and status (from the generated schema). */
export type ResponseOf<P extends keyof paths, M extends Method & keyof paths[P], S extends number = 200> = paths[P][M] extends {
  responses: infer R;
}
  ? R extends Record<S, { content: { 'application/json': infer B } }>
    ? B
    : never
  : never;

/** The query parameters of a GET route. */
export type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;

export type Me = ResponseOf<'/admin/api/auth/me', 'get'>;
export type Role = Me['role'];
export type LoginResult = ResponseOf<'/admin/api/auth/login', 'post'>;
export type ProviderPage = ResponseOf<'/admin/api/providers', 'get'>;
export type ProviderSummary = ProviderPage['items'][number];
export type ProviderDetail = ResponseOf<'/admin/api/providers/{id}', 'get'>;
export type ProviderVersion = ProviderDetail['versions'][number];
export type ProviderPackage = ProviderVersion['packages'][number];
export type ProviderStatus = ProviderSummary['status'];
export type ProviderQuery = QueryOf<'/admin/api/providers'>;
export type ProviderOrigin = NonNullable<ProviderQuery['origin']>;
export type JobPage = ResponseOf<'/admin/api/jobs', 'get'>;
export type JobSummary = JobPage['items'][number];
export type JobDetail = ResponseOf<'/admin/api/jobs/{id}', 'get'>;
export type JobItem = JobDetail['items'][number];
export type JobStatus = JobSummary['status'];
export type JobQuery = QueryOf<'/admin/api/jobs'>;
export type LoadAccepted = ResponseOf<'/admin/api/providers/load', 'post', 202>;
export type LoadPlan = ResponseOf<'/admin/api/providers/load/plan', 'post'>;
export type RetryResult = ResponseOf<'/admin/api/jobs/{id}/retry', 'post', 202>;
export type StorageReport = ResponseOf<'/admin/api/stats/storage', 'get'>;
export type PullThroughReport = ResponseOf<'/admin/api/stats/pull-through', 'get'>;
export type PullThroughTotals = PullThroughReport['total'];
export type UpstreamState = PullThroughReport['upstreams'][number];
