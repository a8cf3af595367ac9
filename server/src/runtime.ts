import type { Config } from './config/types.js';
import { openDatabase, type Database } from './db/database.js';
import { ProviderRepository } from './db/providers.js';
import { createObjectStore } from './storage/index.js';
import type { ObjectStore } from './storage/store.js';

/**
 * What every command needs to act on the mirror's data: the database with
 * its repositories and the object store, opened from one configuration.
 */
export interface Runtime {
  config: Config;
  db: Database;
  store: ObjectStore;
  providers: ProviderRepository;
  close(): void;
}

export async function openRuntime(config: Config): Promise<Runtime> {
  const db = openDatabase(config.database.path);
  try {
    const store = await createObjectStore(config.storage);
    return {
      config,
      db,
      store,
      providers: new ProviderRepository(db),
      close: () => db.close(),
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
