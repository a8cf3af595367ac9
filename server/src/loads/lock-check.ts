/**
 * The lock-file check of a load: an item planned from a `.terraform.lock.hcl`
 * carries the hashes the lock pins, and a package none of them vouches for is
 * refused (IntegrityError, naming provider, version and platform) before
 * anything is stored. A lock lists zh: (the archive's sha256) for every
 * platform of a registry release and h1: only for the platforms Terraform
 * installed, so either one listed is enough.
 */

import type { JobItem } from '../db/jobs.js';
import type { PackageRow } from '../db/providers.js';
import { IntegrityError } from '../errors.js';
import { lockAccepts } from '../providers/definitions/index.js';
import type { DownloadInfo } from '../upstream/documents.js';

/** The item's pinned hashes; empty when it did not come from a lock file. */
export function lockedHashes(item: Pick<JobItem, 'expectedHashes'>): string[] {
  return item.expectedHashes ? item.expectedHashes.split(' ').filter((h) => h !== '') : [];
}

/** A package already held is checked too: the lock pins bytes, whoever brought them. */
export function assertHeldMatchesLock(item: JobItem, held: () => PackageRow | undefined): void {
  const hashes = lockedHashes(item);
  if (hashes.length === 0) return;
  const pkg = held();
  if (pkg && !lockAccepts(hashes, { sha256: pkg.sha256, h1: [pkg.h1] })) {
    throw refusal(item, `the package held has zh:${pkg.sha256} and ${pkg.h1}`);
  }
}

/**
 * Decided from the upstream's verified shasum before any download where it
 * can be: the lock lists the zh the upstream's SHA256SUMS names (the fetch
 * then checks the archive against that shasum). Otherwise the h1 hashes the
 * lock lists are returned, for the ingest to check the archive against; a
 * lock with no h1 to try refuses at once, costing no download.
 */
export function lockRequirement(item: JobItem, info: Pick<DownloadInfo, 'shasum' | 'trust'>): { h1?: string[] } {
  const hashes = lockedHashes(item);
  if (hashes.length === 0) return {};
  if (info.shasum !== '' && lockAccepts(hashes, { sha256: info.shasum, h1: [] })) return {};
  const h1 = hashes.filter((h) => h.startsWith('h1:'));
  if (info.trust?.kind === 'unsigned') {
    // The unsigned path checks the archive against the upstream's own h1 list, so one of those must be pinned.
    if (info.trust.h1.some((h) => h1.includes(h))) return {};
    throw refusal(item, `the upstream's hashes (${[info.shasum && `zh:${info.shasum}`, ...info.trust.h1].filter(Boolean).join(', ')}) are not among the lock's`);
  }
  if (h1.length === 0) throw refusal(item, `the upstream's package has zh:${info.shasum}, which the lock does not list`);
  return { h1 };
}

/** The ingest's h1 mismatch for a locked item is the lock refusing it: say so, with the provider named. */
export function asLockRefusal(item: JobItem, required: { h1?: string[] }, err: unknown): unknown {
  if (!required.h1 || !(err instanceof IntegrityError) || !err.message.startsWith('h1 checksum mismatch')) return err;
  return refusal(item, err.message);
}

function refusal(item: JobItem, why: string): IntegrityError {
  return new IntegrityError(`${item.source} ${item.version} ${item.platform}: refused, its hashes differ from the lock file: ${why}`);
}
