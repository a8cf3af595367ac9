export { BackupService, removeDatabaseFiles, type BackupServiceOptions } from './service.js';
export { backupRoutes, type BackupRoutesDeps } from './routes.js';
export { BACKUP_PREFIX, backupKey, backupTime, isBackupKey, listBackups, type BackupInfo } from './keys.js';
