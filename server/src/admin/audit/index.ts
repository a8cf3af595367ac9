export { AuditLog, DEFAULT_RETENTION_DAYS, LOGIN_AGGREGATE_WINDOW_MS, type AuditLogOptions, type LoginRefusal } from './log.js';
export { auditRoutes, AuditQuerySchema, type AuditRoutesDeps } from './routes.js';
export { encodeDetails, MAX_DETAILS_BYTES } from './details.js';
