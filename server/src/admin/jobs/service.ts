import type { JobRepository, ListJobsQuery } from '../../db/jobs.js';
import { InvalidInput } from '../../errors.js';
import { heldVersionsIn } from '../../loads/plan.js';
import { heldModuleVersionsIn, moduleLookupOf, planDefinitions, type ModuleVersionsLookup } from '../../loads/plan-modules.js';
import type { ProviderRepository } from '../../db/providers.js';
import type { ModuleRepository } from '../../db/modules.js';
import { parseDefinitions, type DefinitionFormat } from '../../providers/definitions/index.js';
import { parsePlatform, type Platform } from '../../providers/platform.js';
import type { ProviderRegistry } from '../../upstream/registry.js';

/** The upstream port by hostname: RegistryClients in the server, an in-memory fake in tests. */
export interface RegistryLookup {
  get(hostname: string): ProviderRegistry;
  /** The module registry protocol of an upstream; without it, module definitions cannot be planned. */
  modules?(hostname: string): ReturnType<ModuleVersionsLookup>;
}


export interface JobServiceDeps {
  jobs: JobRepository;
  registries: RegistryLookup;
  /** Attempts per item before it fails (config jobs.max_attempts). */
  maxAttempts: number;
  /** What the mirror holds: exact versions held need no upstream, and an unreachable upstream falls back to it. */
  providers?: Pick<ProviderRepository, 'findProvider' | 'listVersions' | 'listPackages'>;
  /** The same for modules. */
  modules?: Pick<ModuleRepository, 'findModule' | 'listVersions'>;
  /** Epoch milliseconds; injectable so tests control job timestamps. */
  now?: () => number;
}

/** Media types a definitions body may be sent in, besides application/json. */
export const DEFINITION_CONTENT_TYPES = ['text/plain', 'application/hcl', 'application/yaml', 'application/x-yaml', 'text/yaml'];

// text/plain is what curl and most tools send by default, so its text is sniffed (HCL is recognised by its blocks).
const FORMAT_BY_CONTENT_TYPE: Record<string, DefinitionFormat | 'auto'> = {
  'application/json': 'json',
  'application/hcl': 'hcl',
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/yaml': 'yaml',
  'text/plain': 'auto',
};

export interface LoadRequest {
  text: string;
  contentType: string;
  /** For a lock file body, which names none: the platforms to mirror ("os_arch"). */
  platforms?: string[];
  /** The principal's actor, recorded on the job. */
  requestedBy: string;
  signal?: AbortSignal;
}

export interface LoadOutcome {
  jobId: number;
  items: number;
  /** What was asked for but cannot be loaded (as planLoad reports it). */
  problems: string[];
  /** E.g. resolved against held versions while the upstream was unreachable (as planLoad reports it). */
  notices: string[];
  providers: string[];
  modules: string[];
}

/**
 * The CLI's `load` steps for a request body (providers, modules or both): parse (all-or-nothing) → plan
 * against the upstream → one job for the workers. Nothing is stored until
 * the plan succeeds, so invalid definitions leave no trace.
 */
export async function loadDefinitions(deps: JobServiceDeps, req: LoadRequest): Promise<LoadOutcome> {
  const { format, plan, providers, modules } = await planRequest(deps, req);
  const jobId = deps.jobs.createJob(
    {
      kind: 'load',
      requestedBy: req.requestedBy,
      spec: { via: 'api', format, providers, ...(modules.length > 0 ? { modules } : {}), problems: plan.problems, notices: plan.notices },
      items: plan.items,
      maxAttempts: deps.maxAttempts,
    },
    now(deps),
  );
  return { jobId, items: plan.items.length, problems: plan.problems, notices: plan.notices, providers, modules };
}

/** The same parse and plan as a load, without the job: what a load of this body would fetch (a dry run). */
export async function previewDefinitions(deps: JobServiceDeps, req: Omit<LoadRequest, 'requestedBy'>) {
  const { plan } = await planRequest(deps, req);
  return plan;
}

async function planRequest(deps: JobServiceDeps, req: Omit<LoadRequest, 'requestedBy'>) {
  const format = FORMAT_BY_CONTENT_TYPE[req.contentType];
  if (!format) throw new InvalidInput(`unsupported Content-Type "${req.contentType}" for definitions`);
  const definitions = await parseDefinitions(req.text, { format, file: 'body', platforms: (req.platforms ?? []).map(readPlatform) });
  if (definitions.providers.length === 0 && definitions.modules.length === 0) {
    throw new InvalidInput('the definitions name no providers and no modules: nothing to load');
  }
  const plan = await planDefinitions(
    definitions,
    { providers: (h) => deps.registries.get(h), modules: moduleLookupOf(deps.registries) },
    { signal: req.signal, held: deps.providers && heldVersionsIn(deps.providers), heldModules: deps.modules && heldModuleVersionsIn(deps.modules) },
  );
  const providers = definitions.providers.map((d) => d.source);
  const modules = definitions.modules.map((d) => d.source);
  return { format, plan, providers, modules };
}

export function listJobs(deps: Pick<JobServiceDeps, 'jobs'>, query: ListJobsQuery) {
  return deps.jobs.listJobs(query);
}

export function getJob(deps: Pick<JobServiceDeps, 'jobs'>, id: number) {
  return deps.jobs.getJob(id);
}

/** Failed items only get a fresh set of attempts; the rest of the job is left alone. */
export function retryJob(deps: Pick<JobServiceDeps, 'jobs' | 'now'>, id: number): { jobId: number; retried: number } {
  return { jobId: id, retried: deps.jobs.retryFailed(id, now(deps)) };
}

function readPlatform(text: string): Platform {
  try {
    return parsePlatform(text);
  } catch (err) {
    throw new InvalidInput(`platform ${JSON.stringify(text.slice(0, 100))}: ${(err as Error).message}`, { key: 'platform' });
  }
}

function now(deps: Pick<JobServiceDeps, 'now'>): number {
  return (deps.now ?? Date.now)();
}
