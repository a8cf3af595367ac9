/**
 * The contracts between the parts of pull-through, so each can be built and
 * tested on its own: the upstream metadata cache (with per-upstream health),
 * the single-flight archive fetch, and the read path's miss seam that uses
 * both. Types only; no I/O.
 *
 *   mirror/ (routes, MirrorService) ──▶ PullThrough (the seam's policy)
 *                                          ├─▶ UpstreamMetadata (cached lists, documents, verified releases)
 *                                          └─▶ ArchivePuller   (one download for all callers, tee, verify, publish)
 */

import type { Readable } from 'node:stream';
import type { ProviderIdentity } from '../db/providers.js';
import type { GpgPublicKey, UpstreamVersion } from '../upstream/documents.js';

/** Where an answer came from: what the metrics count and what logs say. */
export type Freshness =
  /** Served from what the upstream said within metadata_ttl. */
  | 'fresh'
  /** Older than metadata_ttl (a background revalidation was started) or the upstream failed and it is within stale_if_error. */
  | 'stale';

export interface Cached<T> {
  value: T;
  freshness: Freshness;
  /** When the upstream last answered this (ms since epoch). */
  fetchedAt: number;
}

/**
 * A release's signed evidence, verified: SHA256SUMS names each archive, the
 * signature checks out with one of the upstream's keys (or the upstream is
 * trusted unsigned: `signed: false`, a network-mirror chain or allow_unsigned).
 */
export interface VerifiedRelease {
  version: string;
  protocols: string[];
  /** The exact bytes the upstream served; re-served to registry-protocol clients. */
  shasums: Buffer;
  signature: Buffer | undefined;
  signingKeys: GpgPublicKey[];
  keyIds: string[];
  signed: boolean;
  /** platform "os_arch" → what is needed to fetch and check its archive. */
  archives: Record<string, ReleaseArchive>;
}

export interface ReleaseArchive {
  os: string;
  arch: string;
  filename: string;
  /** Absolute upstream URL (already checked against the allow-list at connect time by the HTTP client). */
  downloadUrl: string;
  /** Lowercase hex, from the verified SHA256SUMS (or the trusted mirror's zh: hash). */
  sha256: string;
  /** h1: hashes the upstream vouches for (network-mirror chains), checked after download. */
  h1?: string[];
}

/**
 * Upstream metadata through a cache kept in SQLite (upstream_cache): reused
 * for metadata_ttl, revalidated in the background after it, served stale up to
 * stale_if_error while the upstream fails. While an upstream is backing off
 * (429/503 Retry-After, or repeated failures) nothing is sent to it: a miss
 * throws UpstreamBackingOff at once (a 503 with Retry-After).
 */
export interface UpstreamMetadata {
  /** The upstream's versions of a provider; NotFound when the upstream does not have it. */
  versions(id: ProviderIdentity, signal?: AbortSignal): Promise<Cached<UpstreamVersion[]>>;
  /** Download documents, SHA256SUMS and signature of a version, fetched once and verified. */
  release(id: ProviderIdentity, version: string, signal?: AbortSignal): Promise<Cached<VerifiedRelease>>;
  /** The upstream's health, for metrics and the admin API. */
  health(hostname: string): UpstreamHealthState;
}

export interface UpstreamHealthState {
  hostname: string;
  state: 'up' | 'backing_off';
  /** When requests to it resume (ms since epoch), while backing off. */
  retryAt?: number;
  consecutiveFailures: number;
}

/** What one caller of ArchivePuller gets: the bytes as they arrive (or from the store once published). */
export interface PulledArchive {
  size: number | undefined;
  sha256: string;
  /**
   * Errors mid-stream (a failed digest, an upstream cut) destroy it, so the
   * client's response is cut and never completes with unverified bytes.
   */
  body: Readable;
  /** 'joined': another caller's download was already running. */
  via: 'started' | 'joined' | 'store';
}

/**
 * One upstream download per package for every concurrent caller — in this
 * process (a map of in-flight fetches) and across processes on one database
 * (a lease row). Bytes are streamed to every waiting caller while they are
 * written to staging; the last bytes are held back until sha256 matches; then
 * the package is ingested (h1, zh, origin "pulled") and published.
 */
export interface ArchivePuller {
  pull(id: ProviderIdentity, release: VerifiedRelease, platform: string, signal?: AbortSignal): Promise<PulledArchive>;
}
