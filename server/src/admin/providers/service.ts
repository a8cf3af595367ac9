import type { PackageHolder } from '../../db/package-holders.js';
import type {
  PackageDetailRow,
  ProviderFilter,
  ProviderRepository,
  ProviderRow,
  ProviderStatus,
  ProviderSummaryRow,
  VersionDetailRow,
} from '../../db/providers.js';
import { signingKeysKey } from '../../providers/keys.js';
import { compareVersions } from '../../providers/version.js';
import type { ObjectStore } from '../../storage/store.js';

/** What the provider services need; `invalidate` drops the mirror's cached documents after a write. */
export interface ProviderServiceDeps {
  providers: ProviderRepository;
  store: ObjectStore;
  invalidate(): void;
}

export interface ProviderDetail {
  provider: ProviderRow;
  versions: (VersionDetailRow & { packages: (PackageDetailRow & { holders: PackageHolder[] })[] })[];
}

export interface DeleteOutcome {
  provider: ProviderRow;
  objectsDeleted: number;
  /** Keys whose removal failed: unreferenced leftovers, harmless but worth a look. */
  objectsFailed: string[];
}

export function listProviders(deps: Pick<ProviderServiceDeps, 'providers'>, filter: ProviderFilter) {
  // Addresses are stored lowercase, so the filters are compared in that form.
  const lower = (s: string | undefined) => s?.toLowerCase();
  return deps.providers.listProviders({
    ...filter,
    hostname: lower(filter.hostname),
    namespace: lower(filter.namespace),
    type: lower(filter.type),
    q: lower(filter.q),
  });
}

/** The provider with every version (newest first) and its packages. */
export function getProviderDetail(deps: Pick<ProviderServiceDeps, 'providers'>, id: number): ProviderDetail {
  const provider = deps.providers.getProviderById(id);
  const byVersion = new Map<number, ProviderDetail['versions'][number]['packages']>();
  for (const pkg of deps.providers.listPackageDetails(id)) {
    const list = byVersion.get(pkg.versionId) ?? [];
    list.push({ ...pkg, holders: deps.providers.holdersOf(pkg.id) });
    byVersion.set(pkg.versionId, list);
  }
  const versions = deps.providers
    .listVersionDetails(id)
    .sort((a, b) => compareVersions(b.version, a.version))
    .map((v) => ({ ...v, packages: byVersion.get(v.id) ?? [] }));
  return { provider, versions };
}

/**
 * The mirror reads the status column itself (blocked → absent, deprecated →
 * Warning header); only its cache has to be told.
 */
export function updateProviderStatus(
  deps: Omit<ProviderServiceDeps, 'store'>,
  id: number,
  status: ProviderStatus,
): { previous: ProviderStatus; updated: ProviderSummaryRow } {
  const previous = deps.providers.getProviderById(id).status;
  deps.providers.setStatus(id, status);
  deps.invalidate();
  return { previous, updated: deps.providers.getProviderSummary(id) };
}

/**
 * Rows first, in one transaction, then the objects: a failure in between
 * leaves unreferenced objects, never rows pointing at missing ones. The
 * objects are the keys the removed rows named that the same transaction found
 * no remaining row naming, plus each released version's signing keys. Nothing
 * is deleted by listing a key prefix: a concurrent load may have stored an
 * object there that its row does not name yet. No abort signal: once the
 * rows are gone, stopping halfway only leaves litter.
 */
export async function deleteProvider(deps: ProviderServiceDeps, id: number): Promise<DeleteOutcome> {
  const { provider, objectKeys, releasedVersions } = deps.providers.deleteProvider(id);
  deps.invalidate();
  const keys = new Set(objectKeys);
  for (const v of releasedVersions) keys.add(signingKeysKey(provider, v));
  const objectsFailed: string[] = [];
  let objectsDeleted = 0;
  for (const key of keys) {
    // A writer that recorded the same key since the commit (an import of the same bytes) keeps it.
    if (deps.providers.isObjectKeyReferenced(key)) continue;
    await deps.store.delete(key).then(
      () => objectsDeleted++,
      () => objectsFailed.push(key),
    );
  }
  return { provider, objectsDeleted, objectsFailed };
}
