export { AuditLog, DEFAULT_RETENTION_DAYS, type AuditLogOptions } from './log.js';
export { auditRoutes, AuditQuerySchema, type AuditRoutesDeps } from './routes.js';
export { encodeDetails, MAX_DETAILS_BYTES } from './details.js';
