import type { Config } from '../config/types.js';
import type { ProviderIdentity } from '../db/providers.js';
import type { StagingArea } from '../loads/staging.js';
import type { ModuleIngest } from '../modules/ports.js';
import type { Runtime } from '../runtime.js';
import { BUILT_IN_UPSTREAMS, RegistryClients } from '../upstream/registry.js';
import { SingleFlightArchivePuller } from './archive.js';
import { CachedUpstreamMetadata, PULL_METADATA_HTTP } from './metadata.js';
import { PullThrough } from './pull-through.js';

export interface PullThroughWiring {
  seam: PullThrough;
  metadata: CachedUpstreamMetadata;
  puller: SingleFlightArchivePuller;
  close(): Promise<void>;
}

export interface PullThroughWiringDeps {
  /** The write path's upstream clients: archive downloads use their limits and connect-time checks. */
  downloads: Pick<RegistryClients, 'get'>;
  staging: StagingArea;
  /** A pulled package was published: the read path's caches must show it. */
  published: (id: ProviderIdentity, version: string) => void;
  /**
   * The process's one module ingest (LoadWorkers.moduleIngest): a pull and a
   * load of the same version share its single flight. Absent: module misses are refused.
   */
  moduleIngest?: ModuleIngest;
  onError?: (err: unknown, what: string) => void;
}

/**
 * The miss seam as `serve` runs it: metadata through its own upstream
 * clients (one attempt, tight timeouts: a client is waiting; health decides
 * when to ask again), archives through the single-flight puller with leases
 * in the shared database.
 */
export function createPullThrough(runtime: Runtime, config: Config, deps: PullThroughWiringDeps): PullThroughWiring {
  const metadataClients = new RegistryClients(config.upstreams, { ...PULL_METADATA_HTTP });
  const hostnames = [...new Set([...Object.keys(BUILT_IN_UPSTREAMS), ...Object.keys(config.upstreams).map((h) => h.toLowerCase())])];
  const metadata = new CachedUpstreamMetadata({
    registry: (h) => metadataClients.get(h),
    moduleRegistry: (h) => metadataClients.modules(h),
    cache: runtime.repos.upstreamCache,
    metadataTtlMs: config.pullThrough.metadataTtl * 1000,
    staleIfErrorMs: config.pullThrough.staleIfError * 1000,
    hostnames,
    onBackgroundError: (err, what) => deps.onError?.(err, `revalidating ${what.kind} ${what.hostname}/${what.key}`),
  });
  const puller = new SingleFlightArchivePuller({
    providers: runtime.providers,
    leases: runtime.repos.pullLeases,
    store: runtime.store,
    staging: deps.staging,
    limits: config.limits,
    registry: (h) => deps.downloads.get(h),
    published: deps.published,
    failed: (key, err) => deps.onError?.(err, `pulling ${key}`),
  });
  // A network-mirror upstream serves no modules: its hostname is refused for them before any request.
  const moduleHostnames = hostnames.filter((h) => !Object.entries(config.upstreams).some(([name, u]) => name.toLowerCase() === h && u.networkMirror));
  const seam = new PullThrough({
    policy: config.pullThrough,
    upstreams: hostnames,
    metadata,
    puller,
    metadataTtlMs: config.pullThrough.metadataTtl * 1000,
    modules: deps.moduleIngest && { metadata, ingest: deps.moduleIngest, hostnames: moduleHostnames },
  });
  return {
    seam,
    metadata,
    puller,
    async close() {
      await Promise.allSettled([puller.close(), metadata.close()]);
      metadataClients.close();
    },
  };
}
