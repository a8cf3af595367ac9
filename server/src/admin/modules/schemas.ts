import { z } from 'zod';

/** Request and response shapes of the module routes; they validate requests and feed the OpenAPI document. */

export const moduleStatus = z.enum(['active', 'deprecated', 'blocked']);
export const idParams = z.object({ id: z.coerce.number().int().positive() });
export const versionParams = idParams.extend({ version: z.string().min(1).max(128) });

export const listQuery = z.object({
  query: z.string().min(1).max(400).optional().describe('substring of hostname/namespace/name/system, any letter case'),
  status: moduleStatus.optional(),
  hostname: z.string().min(1).max(260).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const statusBody = z.object({ status: moduleStatus }).strict();

export const summary = z.object({
  id: z.number(),
  source: z.string(),
  status: moduleStatus,
  versions: z.number(),
  bytes: z.number(),
  downloads: z.number(),
  lastDownloadAt: z.string().nullable(),
  createdAt: z.string(),
});

export const list = z.object({ items: z.array(summary), total: z.number(), limit: z.number(), offset: z.number() });

const drift = z
  .object({ upstreamCommit: z.string(), checkedAt: z.string().nullable() })
  .nullable()
  .describe('set when the ref pointed elsewhere upstream at the last check; the pinned commit is still served');

export const detail = z.object({
  id: z.number(),
  source: z.string(),
  hostname: z.string(),
  namespace: z.string(),
  name: z.string(),
  system: z.string(),
  status: moduleStatus,
  createdAt: z.string(),
  versions: z.array(
    z.object({
      version: z.string(),
      location: z.string().describe('the upstream location as it answered it'),
      sourceKind: z.enum(['git', 'archive']),
      commit: z.string().nullable().describe('git: the pinned commit every download serves'),
      subdir: z.string().nullable(),
      sha256: z.string().describe('of the normalized tar.gz the mirror serves'),
      size: z.number(),
      files: z.number(),
      downloads: z.number(),
      lastDownloadAt: z.string().nullable(),
      createdAt: z.string(),
      heldBy: z.array(z.string()).describe('who brought or holds it: imported, loaded, pulled, set:{kind}/{namespace}/{name}'),
      drift,
      driftCheckedAt: z.string().nullable(),
    }),
  ),
});

export const driftReport = z.object({
  checked: z.number().describe('git versions asked about upstream'),
  drifted: z.array(z.string()).describe('versions whose ref points at another commit now'),
  problems: z.array(z.object({ version: z.string(), message: z.string() })),
  module: detail,
});
