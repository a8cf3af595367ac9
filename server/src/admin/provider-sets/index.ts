export { providerSetRoutes, type ProviderSetRoutesDeps } from './routes.js';
export { ProviderSetService, type ApplyRequest, type ProviderSetServiceDeps, type ProviderSetStatus, type RemoveOutcome } from './service.js';
