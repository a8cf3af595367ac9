import { z } from 'zod';
import { InvalidInput } from '../../errors.js';
import { MAX_DEFINITIONS_BYTES } from '../../providers/definitions/index.js';
import { ADMIN_PREFIX } from '../framework/router.js';
import { route, type RouteSpec } from '../framework/route.js';
import { JOB_READERS, JOB_ROLES } from '../principal.js';
import { presentJob, presentJobList, presentLoadAccepted, presentLoadPlan, presentRetried } from './presenters.js';
import { DEFINITION_CONTENT_TYPES, getJob, listJobs, loadDefinitions, previewDefinitions, retryJob, type JobServiceDeps } from './service.js';

export type JobRoutesDeps = JobServiceDeps;

const TAG = 'jobs';
// Problem lists can be long; the audit entry keeps enough to recognise the request.
const AUDITED_PROVIDERS = 50;

const jobStatus = z.enum(['pending', 'running', 'succeeded', 'failed']);
const idParams = z.object({ id: z.coerce.number().int().positive() });
const listQuery = z.object({
  status: jobStatus.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const timestamp = z.string().nullable();
const progress = z.object({
  total: z.number(),
  pending: z.number(),
  retrying: z.number(),
  running: z.number(),
  succeeded: z.number(),
  skipped: z.number(),
  failed: z.number(),
  bytesDone: z.number(),
  bytesTotal: z.number(),
});
const summary = z.object({
  id: z.number(),
  kind: z.string(),
  status: jobStatus,
  progress,
  createdAt: timestamp,
  startedAt: timestamp,
  finishedAt: timestamp,
  requestedBy: z.string(),
});
const item = z.object({
  kind: z.enum(['provider', 'module']),
  /** Providers: hostname/namespace/type; modules: hostname/namespace/name/system. */
  source: z.string(),
  version: z.string(),
  /** os_arch; empty for a module. */
  platform: z.string(),
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']),
  error: z.string().nullable(),
  attempts: z.number(),
  bytesDone: z.number(),
  bytesTotal: z.number(),
});
// A lock file names no platforms: `?platform=linux_amd64&platform=darwin_arm64` does (repeated keys arrive as a list).
const loadQuery = z.object({ platform: z.union([z.string(), z.array(z.string()).max(64)]).optional() });
const accepted = z.object({ jobId: z.number(), items: z.number(), problems: z.array(z.string()), notices: z.array(z.string()).optional() });
const planned = z.object({
  items: z.array(z.object({ kind: z.enum(['provider', 'module']), source: z.string(), version: z.string(), platform: z.string() })),
  problems: z.array(z.string()),
  notices: z.array(z.string()),
});

/**
 * Loading definitions, and watching or retrying the jobs that result. One
 * route takes providers and modules: they are written in the same files
 * (DESIGN: "Modules, in the same files"), so a file that holds both loads in
 * one request and one job, and every problem of it is reported at once.
 */
export function jobRoutes(deps: JobRoutesDeps): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/providers/load',
      summary: 'Plan provider and module definitions (HCL, YAML or JSON, or a .terraform.lock.hcl with ?platform=os_arch, repeatable) against the upstream and queue a load job',
      tag: TAG,
      access: JOB_ROLES,
      rawBody: { contentTypes: DEFINITION_CONTENT_TYPES, maxBytes: MAX_DEFINITIONS_BYTES },
      query: loadQuery,
      audit: 'providers.load',
      responses: {
        202: {
          description:
            'the job was queued. The body holds provider definitions, module definitions or both, in one document: `provider "ns/type" {...}` and ' +
            '`module "ns/name/system" {...}` blocks in HCL, or `providers:` and `modules:` lists in YAML or JSON; modules load through this same route ' +
            '(there is no separate modules/load). The job has one item per provider package (source, version, platform) and one per module version ' +
            '(kind "module", platform "")',
          schema: accepted,
        },
        400: { description: 'invalid provider or module definitions (with line and column; nothing is stored), an unsupported Content-Type, or a hostname with no upstream block' },
        502: { description: 'the upstream failed while planning: unreachable, an error status, or an invalid, oversized or truncated answer' },
        504: { description: 'the upstream did not answer in time while planning' },
      },
      handler: async ({ raw, req, query }) => {
        if (!raw) throw new InvalidInput('send provider or module definitions as the request body');
        const outcome = await loadDefinitions(deps, {
          text: raw.text,
          contentType: raw.contentType,
          platforms: query.platform === undefined ? [] : ([] as string[]).concat(query.platform),
          requestedBy: req.principal?.actor ?? 'anonymous',
          signal: req.signal,
        });
        return {
          status: 202,
          body: presentLoadAccepted(outcome),
          headers: { Location: `${ADMIN_PREFIX}/jobs/${outcome.jobId}` },
          audit: {
            resource: `job:${outcome.jobId}`,
            details: {
              items: outcome.items,
              problems: outcome.problems.length,
              providers: outcome.providers.slice(0, AUDITED_PROVIDERS),
              ...(outcome.modules.length > 0 ? { modules: outcome.modules.slice(0, AUDITED_PROVIDERS) } : {}),
            },
          },
        };
      },
    }),
    route({
      method: 'post',
      path: '/providers/load/plan',
      summary: 'Dry run of /providers/load: parse and plan the same body the same way, and answer what a load would queue, storing nothing',
      tag: TAG,
      access: JOB_ROLES,
      rawBody: { contentTypes: DEFINITION_CONTENT_TYPES, maxBytes: MAX_DEFINITIONS_BYTES },
      query: loadQuery,
      responses: {
        200: { description: 'the items a load would queue (kind, source, version, platform), with its problems and notices', schema: planned },
        400: { description: 'invalid provider or module definitions (with line and column), an unsupported Content-Type, or a hostname with no upstream block' },
        502: { description: 'the upstream failed while planning' },
        504: { description: 'the upstream did not answer in time while planning' },
      },
      // Not audited: it changes nothing (the load that may follow is).
      handler: async ({ raw, req, query }) => {
        if (!raw) throw new InvalidInput('send provider or module definitions as the request body');
        const plan = await previewDefinitions(deps, {
          text: raw.text,
          contentType: raw.contentType,
          platforms: query.platform === undefined ? [] : ([] as string[]).concat(query.platform),
          signal: req.signal,
        });
        return { body: presentLoadPlan(plan) };
      },
    }),
    route({
      method: 'get',
      path: '/jobs',
      summary: 'List jobs, newest first, with progress',
      tag: TAG,
      access: JOB_READERS,
      query: listQuery,
      responses: { 200: { description: 'one page of jobs', schema: z.object({ items: z.array(summary), total: z.number() }) } },
      handler: async ({ query }) => ({ body: presentJobList(listJobs(deps, query)) }),
    }),
    route({
      method: 'get',
      path: '/jobs/:id',
      summary: 'A job with its items',
      tag: TAG,
      access: JOB_READERS,
      params: idParams,
      responses: { 200: { description: 'the job', schema: summary.extend({ items: z.array(item) }) }, 404: { description: 'no such job' } },
      handler: async ({ params }) => ({ body: presentJob(getJob(deps, params.id)) }),
    }),
    route({
      method: 'post',
      path: '/jobs/:id/retry',
      summary: "Give the job's failed items a fresh set of attempts",
      tag: TAG,
      access: JOB_ROLES,
      params: idParams,
      audit: 'job.retry',
      responses: {
        202: { description: 'failed items were queued again', schema: z.object({ jobId: z.number(), retried: z.number() }) },
        404: { description: 'no such job' },
      },
      handler: async ({ params }) => {
        const outcome = retryJob(deps, params.id);
        return { status: 202, body: presentRetried(outcome), audit: { resource: `job:${params.id}`, details: { retried: outcome.retried } } };
      },
    }),
  ];
}
