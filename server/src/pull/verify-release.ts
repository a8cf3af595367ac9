/**
 * A release as pull-through needs it: every platform's download document,
 * SHA256SUMS and its signature fetched once (they are one file for all
 * platforms of a version), then checked as Terraform checks a registry
 * package (upstream/verify.ts) — SHA256SUMS names each platform's filename
 * with the document's shasum, and the signature verifies with the listed keys
 * — before anything of it is cached or served. The archives' own sha256 is
 * checked by the puller as their bytes arrive. Upstreams trusted unsigned
 * (DownloadInfo.trust) give `signed: false`: a network mirror's own hashes,
 * or, with allow_unsigned, a SHA256SUMS that must still name every archive.
 */

import { NotFound } from '../errors.js';
import type { ProviderIdentity } from '../db/providers.js';
import { formatPlatform, type Platform } from '../providers/platform.js';
import type { DownloadInfo, GpgPublicKey } from '../upstream/documents.js';
import { InvalidUpstreamResponse } from '../upstream/errors.js';
import { UPSTREAM_LIMITS, type ProviderRegistry } from '../upstream/registry.js';
import { verifyShasumsLine, verifySignature } from '../upstream/verify.js';
import type { ReleaseArchive, VerifiedRelease } from './ports.js';

/** Download documents asked for at once per release (a provider has up to ~20 platforms). */
const DOCUMENT_CONCURRENCY = 4;

export async function fetchVerifiedRelease(
  registry: ProviderRegistry,
  id: ProviderIdentity,
  version: string,
  platforms: readonly Platform[],
  signal: AbortSignal,
): Promise<VerifiedRelease> {
  const name = `${id.hostname}/${id.namespace}/${id.type} ${version}`;
  const docs = (
    await mapLimit(platforms, DOCUMENT_CONCURRENCY, async (p) => {
      try {
        return await registry.downloadInfo(id.namespace, id.type, version, p.os, p.arch, signal);
      } catch (err) {
        // A platform the list names but the registry does not serve is left out, as Terraform would fail on it alone.
        if (err instanceof NotFound) return undefined;
        throw err;
      }
    })
  ).filter((d): d is DownloadInfo => d !== undefined);
  const first = docs[0];
  if (first === undefined) throw new NotFound(`${name} offers no platform upstream`);
  for (const d of docs) assertSameEvidence(first, d, name);

  const archives: Record<string, ReleaseArchive> = {};
  for (const d of docs) {
    const h1 = d.trust?.kind === 'unsigned' && d.trust.h1.length > 0 ? { h1: d.trust.h1 } : {};
    archives[formatPlatform(d)] = { os: d.os, arch: d.arch, filename: d.filename, downloadUrl: d.downloadUrl, sha256: d.shasum, ...h1 };
  }
  const release = { version, protocols: first.protocols, archives };
  const trust = first.trust ?? { kind: 'signed' };
  // A network mirror has no SHA256SUMS or signature: its own hashes vouch for each archive, checked on download.
  if (trust.kind === 'unsigned' && trust.reason === 'network_mirror') {
    return { ...release, shasums: Buffer.alloc(0), signature: undefined, signingKeys: [], keyIds: [], signed: false };
  }
  if (trust.kind === 'unsigned') {
    // allow_unsigned: no keys to check a signature with, but SHA256SUMS still has to name every archive.
    const shasums = await registry.fetchBytes(first.shasumsUrl, UPSTREAM_LIMITS.shasums, signal);
    for (const d of docs) verifyShasumsLine(shasums, d.filename, d.shasum);
    return { ...release, shasums, signature: undefined, signingKeys: [], keyIds: [], signed: false };
  }
  const [shasums, signature] = await Promise.all([
    registry.fetchBytes(first.shasumsUrl, UPSTREAM_LIMITS.shasums, signal),
    registry.fetchBytes(first.shasumsSignatureUrl, UPSTREAM_LIMITS.signature, signal),
  ]);
  for (const d of docs) verifyShasumsLine(shasums, d.filename, d.shasum);
  const verified = await verifySignature(shasums, signature, first.signingKeys);
  return { ...release, shasums, signature, signingKeys: first.signingKeys, keyIds: [verified.keyId], signed: true };
}

/**
 * One SHA256SUMS, one signature and one key set for the whole version: a
 * release whose documents point at different ones cannot be verified once for
 * all its platforms (and is not what any real registry serves), so it is refused.
 */
function assertSameEvidence(a: DownloadInfo, b: DownloadInfo, name: string): void {
  const differs = (field: string) => {
    throw new InvalidUpstreamResponse(b.downloadUrl, `the download documents of ${name} disagree on ${field} (${formatPlatform(a)} and ${formatPlatform(b)})`);
  };
  if (trustOf(a) !== trustOf(b)) differs('how they are vouched for (signed, unsigned)');
  if (a.shasumsUrl !== b.shasumsUrl) differs('shasums_url');
  if (a.shasumsSignatureUrl !== b.shasumsSignatureUrl) differs('shasums_signature_url');
  if (keySetOf(a.signingKeys) !== keySetOf(b.signingKeys)) differs('signing_keys');
}

function trustOf(d: DownloadInfo): string {
  return d.trust === undefined || d.trust.kind === 'signed' ? 'signed' : `unsigned ${d.trust.reason}`;
}

function keySetOf(keys: readonly GpgPublicKey[]): string {
  return JSON.stringify(keys.map((k) => [k.key_id.toUpperCase(), k.ascii_armor.trim()]).sort());
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
