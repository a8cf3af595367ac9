import { z } from 'zod';
import { route, type RouteSpec } from '../framework/route.js';
import { ADMINS } from '../principal.js';
import type { BackupInfo } from './keys.js';
import type { BackupService } from './service.js';

export interface BackupRoutesDeps {
  backups: Pick<BackupService, 'backup' | 'list'>;
}

const BackupSchema = z.object({
  key: z.string().describe('object key in the store, e.g. backups/tfmirror-20240102T030405.678Z.db'),
  bytes: z.number(),
  createdAt: z.string().describe('ISO 8601'),
});

/** POST /backup takes an online backup into the object store; GET /backups lists them, newest first. */
export function backupRoutes(deps: BackupRoutesDeps): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/backup',
      summary: 'Back up the database into the object store',
      tag: 'backup',
      access: ADMINS,
      audit: 'backup.create',
      responses: {
        201: { description: 'The backup was stored', schema: BackupSchema },
        409: { description: 'A backup is already running' },
      },
      async handler({ req }) {
        const made = await deps.backups.backup({ signal: req.signal });
        return { status: 201, body: presentBackup(made), audit: { resource: `backup:${made.key}`, details: { bytes: made.bytes } } };
      },
    }),
    route({
      method: 'get',
      path: '/backups',
      summary: 'List the backups held in the object store',
      tag: 'backup',
      access: ADMINS,
      responses: { 200: { description: 'Backups, newest first', schema: z.object({ items: z.array(BackupSchema) }) } },
      async handler() {
        return { body: { items: (await deps.backups.list()).map(presentBackup) } };
      },
    }),
  ];
}

function presentBackup(b: BackupInfo): z.infer<typeof BackupSchema> {
  return { key: b.key, bytes: b.bytes, createdAt: b.createdAt };
}
