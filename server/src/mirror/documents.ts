import type { PackageRow } from '../db/providers.js';
import type { VerifiedRelease } from '../pull/ports.js';
import type { UpstreamVersion } from '../upstream/documents.js';

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
export function presentVersion(packages: PackageRow[], release?: VerifiedRelease): unknown {
  const archives: Record<string, { url: string; hashes: string[] }> = {};
  // Platforms the upstream has but the mirror does not (yet) hold: pulled on first download, zh: from the
  // verified SHA256SUMS, or the h1: a network-mirror upstream vouches for (it may list no zh: at all).
  for (const [platform, a] of Object.entries(release?.archives ?? {})) {
    const hashes = [...(a.h1 ?? []), ...(a.sha256 ? [`zh:${a.sha256}`] : [])];
    archives[platform] = { url: `${release!.version}/${a.filename}`, hashes };
  }
  for (const p of packages) {
    archives[`${p.os}_${p.arch}`] = { url: `${p.version}/${p.filename}`, hashes: [p.h1, `zh:${p.sha256}`] };
  }
  return { archives };
}

/** The Provider Registry Protocol's versions list: version, protocols and platforms only. */
export function presentRegistryVersions(versions: UpstreamVersion[]): unknown {
  return {
    versions: versions.map((v) => ({
      version: v.version,
      protocols: v.protocols,
      platforms: v.platforms.map((p) => ({ os: p.os, arch: p.arch })),
    })),
  };
}

/** The Module Registry Protocol's versions list: `{"modules":[{"versions":[{"version"}]}]}`, nothing else. */
export function presentModuleVersions(versions: string[]): unknown {
  return { modules: [{ versions: versions.map((version) => ({ version })) }] };
}

export interface RegistryDownloadUrls {
  downloadUrl: string;
  shasumsUrl: string;
  shasumsSignatureUrl: string;
}

/**
 * A registry download document whose URLs all lead to the mirror, with the
 * upstream's own signing keys: Terraform checks the signature over the
 * SHA256SUMS the mirror re-serves byte for byte, and locks zh: for every
 * platform listed there.
 */
export function presentRegistryDownload(release: VerifiedRelease, platform: string, urls: RegistryDownloadUrls): unknown {
  const a = release.archives[platform];
  if (!a) return undefined;
  return {
    protocols: release.protocols,
    os: a.os,
    arch: a.arch,
    filename: a.filename,
    download_url: urls.downloadUrl,
    shasums_url: urls.shasumsUrl,
    shasums_signature_url: urls.shasumsSignatureUrl,
    shasum: a.sha256,
    signing_keys: {
      gpg_public_keys: release.signingKeys.map((k) => ({
        key_id: k.key_id,
        ascii_armor: k.ascii_armor,
        ...(k.trust_signature !== undefined ? { trust_signature: k.trust_signature } : {}),
        ...(k.source !== undefined ? { source: k.source } : {}),
        ...(k.source_url !== undefined ? { source_url: k.source_url } : {}),
      })),
    },
  };
}
