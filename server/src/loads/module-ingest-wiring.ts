/**
 * The module write path of one process: the ingest over this runtime's
 * repositories and store, fetching through the module fetcher (archives over
 * the upstream HTTP client, git over the git CLI) into the load staging
 * directory. The load workers run it and pull-through takes the same one
 * (LoadWorkers.moduleIngest), so one process has one single-flight map.
 *
 * Where a location may lead follows the upstream that handed it out, as for
 * provider downloads: HTTPS only unless the upstream is plain http itself,
 * private addresses only when the upstream is on one. A fetch that names no
 * upstream gets the strict rules.
 */

import fs from 'node:fs';
import type { Config, UpstreamConfig } from '../config/types.js';
import { createModuleFetcher } from '../modules/fetch.js';
import { createGitClient } from '../modules/git.js';
import { createModuleIngest } from '../modules/ingest.js';
import type { GitClient, ModuleFetcher, ModuleIngest } from '../modules/ports.js';
import type { Runtime } from '../runtime.js';
import { HttpClient } from '../upstream/http.js';
import { isOnPrivateNetwork, STRICT_REACH, type ReachOptions } from '../upstream/reach.js';
import { BUILT_IN_UPSTREAMS, type RegistryClients } from '../upstream/registry.js';
import { upstreamHttpClient } from '../upstream/upstream-http.js';

export interface ModuleIngestWiring {
  ingest: ModuleIngest;
  /** The fetcher the ingest uses; the admin API's drift check asks it where git refs point now. */
  fetcher: ModuleFetcher;
  close(): void;
}

export function wireModuleIngest(opts: {
  runtime: Runtime;
  config: Config;
  registries: RegistryClients;
  stagingDir: string;
  published?: () => void;
}): ModuleIngestWiring {
  const { runtime, config } = opts;
  const upstreams: Record<string, UpstreamConfig> = { ...BUILT_IN_UPSTREAMS };
  for (const [host, u] of Object.entries(config.upstreams)) upstreams[host.toLowerCase()] = u;
  // Module packages come from where the module protocol is: modules_url when configured, else the discovery url.
  const baseOf = (host: string | undefined): string | undefined => {
    const u = host === undefined ? undefined : upstreams[host.toLowerCase()];
    return u && (u.modulesUrl || u.url);
  };
  const httpClients = new Map<string, HttpClient>();
  const gitClients = new Map<string, GitClient>();
  const strictHttp = new HttpClient({ reach: STRICT_REACH });
  const strictGit = createGitClient({ reach: STRICT_REACH, tempDir: opts.stagingDir });
  const http = (host: string | undefined): HttpClient => {
    const base = baseOf(host);
    if (!base) return strictHttp;
    let client = httpClients.get(base);
    if (!client) httpClients.set(base, (client = upstreamHttpClient({}, base)));
    return client;
  };
  const git = (host: string | undefined): GitClient => {
    const base = baseOf(host);
    if (!base) return strictGit;
    let client = gitClients.get(base);
    if (!client) gitClients.set(base, (client = createGitClient({ reach: reachOf(base), tempDir: opts.stagingDir })));
    return client;
  };
  const fetcher = createModuleFetcher({
    limits: {
      maxDownloadBytes: config.limits.moduleMaxDownloadBytes,
      maxTreeBytes: config.limits.moduleMaxTreeBytes,
      maxEntries: config.limits.moduleMaxEntries,
    },
    stagingDir: opts.stagingDir,
    http,
    git,
  });
  const ingest = createModuleIngest({
    repos: runtime.repos,
    leases: runtime.repos.pullLeases,
    store: runtime.store,
    fetcher,
    upstreams: (host) => opts.registries.modules(host),
    allowHttp: (host) => baseOf(host)?.startsWith('http:') ?? false,
    ...(opts.published ? { published: opts.published } : {}),
  });
  return {
    ingest,
    fetcher,
    close() {
      strictHttp.close();
      for (const c of httpClients.values()) c.close();
      httpClients.clear();
      // Left when empty (a load of providers only), so one-shot commands leave no trace; kept while in use.
      try {
        fs.rmdirSync(opts.stagingDir);
      } catch {
        // Not empty (another ingest of this process is at work) or already gone.
      }
    },
  };
}

/** The reach rules of an upstream at `base`, as upstreamHttpClient applies them to HTTP. */
function reachOf(base: string): ReachOptions {
  let privateNetwork: boolean | undefined;
  return {
    requireHttps: new URL(base).protocol === 'https:',
    allowPrivate: async () => (privateNetwork ??= await isOnPrivateNetwork(base)) ?? false,
  };
}
