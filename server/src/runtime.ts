import type { Config } from './config/types.js';
import { ApiTokenRepository } from './db/api-tokens.js';
import { AuditRepository } from './db/audit.js';
import { openDatabase, type Database } from './db/database.js';
import { JobStatsRepository } from './db/job-stats.js';
import { JobRepository } from './db/jobs.js';
import { ModuleRepository } from './db/modules.js';
import { ObjectReferenceRepository } from './db/object-references.js';
import { ProviderSetRepository } from './db/provider-sets.js';
import { ProviderRepository } from './db/providers.js';
import { PullLeaseRepository } from './db/pull-leases.js';
import { SessionRepository } from './db/sessions.js';
import { SettingsRepository } from './db/settings.js';
import { UpstreamCacheRepository } from './db/upstream-cache.js';
import { LoginFailureRepository, UserRepository } from './db/users.js';
import { createObjectStore } from './storage/index.js';
import type { ObjectStore } from './storage/store.js';

/**
 * Every repository over one database, built once here and handed to the
 * services that need them: nothing else constructs a repository from the raw
 * handle (an architecture test holds that), so each statement is prepared
 * once per process and a service's dependencies are visible in its inputs.
 */
export interface Repositories {
  providers: ProviderRepository;
  jobs: JobRepository;
  jobStats: JobStatsRepository;
  sets: ProviderSetRepository;
  users: UserRepository;
  sessions: SessionRepository;
  tokens: ApiTokenRepository;
  audit: AuditRepository;
  settings: SettingsRepository;
  loginFailures: LoginFailureRepository;
  /** Which stored objects rows still name (the orphan sweep). */
  references: ObjectReferenceRepository;
  /** What upstream registries last said (pull-through's metadata cache). */
  upstreamCache: UpstreamCacheRepository;
  /** Who is downloading which package for pull-through, across processes. */
  pullLeases: PullLeaseRepository;
  /** Mirrored modules, their versions and holders. */
  modules: ModuleRepository;
}

export function createRepositories(db: Database): Repositories {
  return {
    providers: new ProviderRepository(db),
    jobs: new JobRepository(db),
    jobStats: new JobStatsRepository(db),
    sets: new ProviderSetRepository(db),
    users: new UserRepository(db),
    sessions: new SessionRepository(db),
    tokens: new ApiTokenRepository(db),
    audit: new AuditRepository(db),
    settings: new SettingsRepository(db),
    loginFailures: new LoginFailureRepository(db),
    references: new ObjectReferenceRepository(db),
    upstreamCache: new UpstreamCacheRepository(db),
    pullLeases: new PullLeaseRepository(db),
    modules: new ModuleRepository(db),
  };
}

/**
 * What every command needs to act on the mirror's data: the database with
 * its repositories and the object store, opened from one configuration.
 */
export interface Runtime {
  config: Config;
  /** The raw handle, for what is about the database itself (data_version, backup, readiness), not its rows. */
  db: Database;
  store: ObjectStore;
  repos: Repositories;
  /** The same object as repos.providers, which nearly every caller needs. */
  providers: ProviderRepository;
  close(): void;
}

export async function openRuntime(config: Config): Promise<Runtime> {
  const db = openDatabase(config.database.path);
  try {
    const store = await createObjectStore(config.storage);
    const repos = createRepositories(db);
    return {
      config,
      db,
      store,
      repos,
      providers: repos.providers,
      close: () => db.close(),
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
