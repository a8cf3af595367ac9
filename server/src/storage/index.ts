/**
 * The storage package's entry point: the port, and the one place that turns
 * configuration into an adapter.
 */
import type { StorageConfig } from '../config/types.js';
import { FilesystemStore } from './filesystem.js';
import type { ObjectStore } from './store.js';

export * from './store.js';
export { FilesystemStore } from './filesystem.js';

/**
 * Builds the configured store, ready to use: the filesystem root and temp
 * directory exist and stale temp files are swept. Reachability is left to
 * check() (/readyz), so a briefly unavailable S3 does not stop startup.
 */
export async function createObjectStore(config: StorageConfig): Promise<ObjectStore> {
  switch (config.type) {
    case 'filesystem': {
      const store = new FilesystemStore({ path: config.path });
      await store.init();
      return store;
    }
    case 's3': {
      // The AWS SDK is large; filesystem deployments never load it.
      const { S3Store } = await import('./s3.js');
      return new S3Store(config);
    }
  }
}
