import type { LimitsConfig } from '../config/types.js';
import type { JobItem } from '../db/jobs.js';
import type { PackageHolder } from '../db/package-holders.js';
import type { ProviderIdentity, ProviderRepository } from '../db/providers.js';
import { IntegrityError } from '../errors.js';
import type { HandlerContext, JobHandler } from '../jobs/worker-pool.js';
import { ingestPackage, type PackageCandidate } from '../packages/ingest.js';
import { parseSourceAddress } from '../providers/address.js';
import { shasumsKey, signatureKey, signingKeysKey } from '../providers/keys.js';
import { parsePlatform } from '../providers/platform.js';
import type { ObjectStore } from '../storage/store.js';
import type { DownloadInfo } from '../upstream/documents.js';
import { UPSTREAM_LIMITS, type ProviderRegistry } from '../upstream/registry.js';
import { assertSha256, verifyShasumsLine, verifySignature } from '../upstream/verify.js';
import { storeVersionFile } from './evidence.js';
import { asLockRefusal, assertHeldMatchesLock, lockRequirement } from './lock-check.js';
import type { StagingArea } from './staging.js';

export interface FetchPackageDeps {
  registry(hostname: string): ProviderRegistry;
  store: ObjectStore;
  providers: ProviderRepository;
  limits: LimitsConfig;
  staging: StagingArea;
  /** Called after a package was published (cache invalidation in `serve`). */
  published?: () => void;
  /** Who the item's job loads for (a provider set, or "loaded"); default "loaded". */
  holderOf?: (jobId: number) => PackageHolder;
}

/**
 * The job handler for one (provider, version, platform): fetch from the
 * upstream registry, verify as Terraform does, publish. A package already
 * held is skipped without any upstream call.
 *
 * Terraform's checks all run and all must pass; the signature is checked
 * before the archive is downloaded, so a bad release costs two small requests
 * instead of a 100 MB download. A package vouched for without a signature
 * (DownloadInfo.trust "unsigned") takes the unsigned path.
 */
export function fetchPackageHandler(deps: FetchPackageDeps): JobHandler {
  return async (item: JobItem, ctx: HandlerContext) => {
    const address = parseSourceAddress(item.source);
    const { os, arch } = parsePlatform(item.platform);
    const holder = deps.holderOf?.(item.jobId) ?? { kind: 'loaded' };
    assertHeldMatchesLock(item, () => deps.providers.findPackage(address, item.version, os, arch));
    // Already held: recording this job's holder on it is all there is to do.
    if (deps.providers.addHolder(address, item.version, os, arch, holder)) return 'skipped';

    const registry = deps.registry(address.hostname);
    const info = await registry.downloadInfo(address.namespace, address.type, item.version, os, arch, ctx.signal);
    const locked = lockRequirement(item, info);
    const candidate = { provider: address, version: item.version, os, arch, holder, ...(locked.h1 ? { lockH1: locked.h1 } : {}) };
    try {
      if (info.trust?.kind === 'unsigned') await fetchUnsigned(deps, registry, info, candidate, ctx);
      else await fetchSigned(deps, registry, info, candidate, ctx);
    } catch (err) {
      throw asLockRefusal(item, locked, err);
    }
    deps.published?.();
    return 'succeeded';
  };
}

interface Candidate {
  provider: ProviderIdentity;
  version: string;
  os: string;
  arch: string;
  holder: PackageHolder;
  /** From a lock file that lists no zh for this package: the archive's h1 must be one of these. */
  lockH1?: string[];
}

/** Terraform's checks, in its order: SHA256SUMS names the file, its signature verifies, the archive matches. */
async function fetchSigned(deps: FetchPackageDeps, registry: ProviderRegistry, info: DownloadInfo, c: Candidate, ctx: HandlerContext): Promise<void> {
  const [shasums, signature] = await Promise.all([
    registry.fetchBytes(info.shasumsUrl, UPSTREAM_LIMITS.shasums, ctx.signal),
    registry.fetchBytes(info.shasumsSignatureUrl, UPSTREAM_LIMITS.signature, ctx.signal),
  ]);
  verifyShasumsLine(shasums, info.filename, info.shasum);
  const verified = await verifySignature(shasums, signature, info.signingKeys);

  await ingestDownload(deps, registry, info, c, ctx, async (staged) => {
    assertSha256(staged.sha256, info.shasum, info.filename);
    const evidence = {
      shasumsKey: shasumsKey(c.provider, c.version),
      signatureKey: signatureKey(c.provider, c.version),
      keyIds: [verified.keyId],
    };
    // Same bytes for every platform of a version: written once, never rewritten under a published version.
    await storeVersionFile(deps.store, evidence.shasumsKey, shasums, { signal: ctx.signal });
    await storeVersionFile(deps.store, evidence.signatureKey, signature, { signal: ctx.signal });
    const keys = Buffer.from(JSON.stringify(info.signingKeys));
    await storeVersionFile(deps.store, signingKeysKey(c.provider, c.version), keys, { contentType: 'application/json', signal: ctx.signal });
    return { evidence, expected: { sha256: info.shasum, ...(c.lockH1 ? { h1: c.lockH1 } : {}) } };
  });
}

/**
 * A package its upstream vouches for without a signature: a network mirror
 * (its zh:/h1: hashes) or a registry release listing no signing keys, taken
 * because its upstream has allow_unsigned (the archive must still match the
 * shasum that SHA256SUMS lists). Recorded with no signed evidence, so the
 * version has no key ids: the admin API shows it as unsigned.
 */
async function fetchUnsigned(deps: FetchPackageDeps, registry: ProviderRegistry, info: DownloadInfo, c: Candidate, ctx: HandlerContext): Promise<void> {
  const h1 = info.trust?.kind === 'unsigned' ? info.trust.h1 : [];
  if (info.shasumsUrl !== '') verifyShasumsLine(await registry.fetchBytes(info.shasumsUrl, UPSTREAM_LIMITS.shasums, ctx.signal), info.filename, info.shasum);
  if (info.shasum === '' && h1.length === 0) throw new IntegrityError(`${info.filename}: the upstream lists no hash to verify it against`);
  await ingestDownload(deps, registry, info, c, ctx, async (staged) => {
    if (info.shasum !== '') assertSha256(staged.sha256, info.shasum, info.filename);
    return { expected: { ...(info.shasum === '' ? {} : { sha256: info.shasum }), h1 } };
  });
}

/**
 * Downloads the archive to staging, lets `check` verify it (and store what
 * goes with it), then ingests it as a loaded package; the staging file is
 * removed whatever happens.
 */
async function ingestDownload(
  deps: FetchPackageDeps,
  registry: ProviderRegistry,
  info: DownloadInfo,
  c: Candidate,
  ctx: HandlerContext,
  check: (staged: { file: string; sha256: string }) => Promise<Pick<PackageCandidate, 'evidence' | 'expected'>>,
): Promise<void> {
  const staged = await download(registry, info, deps.staging, ctx);
  try {
    const checked = await check(staged);
    await ingestPackage(
      { store: deps.store, providers: deps.providers, limits: deps.limits },
      { ...c, filename: info.filename, file: staged.file, sha256: staged.sha256, origin: 'loaded', protocols: info.protocols, ...checked },
      ctx.signal,
    );
  } finally {
    deps.staging.remove(staged.file);
  }
}

async function download(registry: ProviderRegistry, info: DownloadInfo, staging: StagingArea, ctx: HandlerContext) {
  const response = await registry.download(info.downloadUrl, ctx.signal);
  let done = 0;
  ctx.progress(0, response.contentLength);
  return staging.write(response.body, ctx.signal, (n) => {
    done += n;
    ctx.progress(done, response.contentLength);
  });
}
