import type { PackageRow } from '../db/providers.js';

/**
 * Presenters for the Provider Network Mirror Protocol documents. They list
 * their output fields explicitly: what Terraform reads and nothing else.
 */

export function presentIndex(versions: string[]): unknown {
  const out: Record<string, Record<string, never>> = {};
  for (const v of versions) out[v] = {};
  return { versions: out };
}

/**
 * Archive URLs are relative ("{version}/{filename}"): Terraform resolves them
 * against the {version}.json URL, which lands on the archive route beside it.
 * The version is in the URL because filenames alone need not be unique.
 * Relative URLs stay correct behind any ingress or path prefix, and routing
 * downloads through the server (even when it then redirects to a presigned
 * S3 URL) keeps cached documents valid longer than any presigned URL.
 */
export function presentVersion(packages: PackageRow[]): unknown {
  const archives: Record<string, { url: string; hashes: string[] }> = {};
  for (const p of packages) {
    archives[`${p.os}_${p.arch}`] = { url: `${p.version}/${p.filename}`, hashes: [p.h1, `zh:${p.sha256}`] };
  }
  return { archives };
}
