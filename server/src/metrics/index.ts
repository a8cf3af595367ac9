export { Metrics, DURATION_BUCKETS, type MetricsOptions, type MetricsSources, type RequestObservation } from './metrics.js';
export { metricsMiddleware, metricsRoute, routeLabel, UNMATCHED_ROUTE } from './http.js';
export type { PullMetadataSnapshot } from './pull-metadata.js';
