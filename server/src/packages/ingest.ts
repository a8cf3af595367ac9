import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Transform } from 'node:stream';
import type { LimitsConfig } from '../config/types.js';
import { whenNotBusy } from '../db/database.js';
import type { PackageHolder } from '../db/package-holders.js';
import type { ProviderIdentity, ProviderRepository, RecordOutcome, VersionEvidence, VersionOrigin } from '../db/providers.js';
import { Conflict, IntegrityError } from '../errors.js';
import { packageKey } from '../providers/keys.js';
import type { ObjectStore } from '../storage/store.js';
import { inspectZip } from './inspect-zip.js';

export interface IngestDeps {
  store: ObjectStore;
  providers: ProviderRepository;
  limits: LimitsConfig;
  /** Called as bytes are read, for progress. */
  onBytes?: (n: number) => void;
}

export interface PackageCandidate {
  provider: ProviderIdentity;
  version: string;
  os: string;
  arch: string;
  filename: string;
  /** A local zip file: a staged download or a file being imported. */
  file: string;
  origin: VersionOrigin;
  /** Who brings the package (a provider set's load names the set); default: the origin. */
  holder?: PackageHolder;
  protocols?: string[];
  /** sha256 hex of `file` when the caller computed it while staging. */
  sha256?: string;
  /** Signed upstream evidence already stored (loads from a registry). */
  evidence?: VersionEvidence;
  /** What the source vouches for; the package is refused unless it matches. */
  expected: { sha256?: string; h1?: string[] };
}

export interface Ingested {
  outcome: RecordOutcome;
  sha256: string;
  h1: string;
  size: number;
  objectKey: string;
}

/**
 * The write path for one package: verify → hash → store → record.
 * Nothing is published until every check passed: the object is stored under a
 * key that includes its sha256 (so different bytes can never overwrite a
 * published object, even from two processes at once) and the row that makes
 * it visible is written last, in one transaction.
 */
export async function ingestPackage(deps: IngestDeps, c: PackageCandidate, signal?: AbortSignal): Promise<Ingested> {
  const size = (await fs.promises.stat(c.file)).size;
  const held = deps.providers.findPackage(c.provider, c.version, c.os, c.arch);
  if (held) {
    const sha256 = c.sha256 ?? (await sha256File(c.file, signal, deps.onBytes));
    assertExpectedSha256(c, sha256);
    if (held.sha256 === sha256) {
      // Already held: this source holds it too, so purging another holder keeps it.
      deps.providers.addHolder(c.provider, c.version, c.os, c.arch, c.holder ?? { kind: c.origin });
      return { outcome: 'unchanged', sha256, h1: held.h1, size: held.size, objectKey: held.objectKey };
    }
    throw new Conflict(
      `${c.filename}: this mirror already holds different bytes for ${c.version} ${c.os}_${c.arch} ` +
        `(sha256 ${held.sha256}); published packages are immutable`,
    );
  }

  // Inflating every entry for h1 is the slow part (zlib runs off the main
  // thread), so it starts at once; the sha256 of the file and then the copy
  // into the store (whose key names that sha256) run beside it. Nothing is
  // visible until the row is recorded; if a check fails the object is removed again.
  const fileSha256 = c.sha256 !== undefined ? Promise.resolve(c.sha256) : sha256File(c.file, signal, deps.onBytes);
  fileSha256.catch(() => undefined); // awaited below; a rejection must not go unhandled meanwhile
  let ours: StoredCopy | undefined;
  const inspected = await alongside(
    (s) => inspectZip(c.file, zipLimits(deps.limits), s),
    async (s) => {
      const sha256 = await fileSha256;
      assertExpectedSha256(c, sha256);
      ours = { key: contentKey(c, sha256), file: c.file, size, sha256 };
      await putVerified(deps, ours.key, c.file, size, sha256, s);
    },
    () => (ours ? discardUnreferenced(deps, ours) : Promise.resolve()),
    signal,
  ).catch(async (err: unknown) => {
    // Bytes that are not what the source vouches for are refused as such, whatever else is wrong with them.
    const sha256 = await fileSha256.catch(() => undefined);
    if (sha256 !== undefined && !signal?.aborted) assertExpectedSha256(c, sha256);
    throw err;
  });
  if (!ours) throw new Error('ingest: the store copy finished without a key'); // unreachable: alongside resolved
  const { sha256, key: objectKey } = ours;
  const h1s = c.expected.h1 ?? [];
  // Terraform hashes a zip over all its entries but an unpacked package without
  // directory entries; sources may list either, so either vouches for the bytes.
  if (h1s.length > 0 && !h1s.includes(inspected.h1) && !h1s.includes(inspected.h1Unpacked)) {
    await discardUnreferenced(deps, ours);
    throw new IntegrityError(`h1 checksum mismatch for ${c.filename}: expected ${h1s.join(' or ')}, archive hashes to ${inspected.h1}`);
  }

  const outcome = await recordOrDiscard(deps, ours, {
    provider: c.provider,
    version: c.version,
    origin: c.origin,
    holder: c.holder,
    protocols: c.protocols,
    os: c.os,
    arch: c.arch,
    filename: c.filename,
    size,
    sha256,
    h1: inspected.h1,
    objectKey,
    evidence: c.evidence,
  });
  await ensureStored(deps, ours, signal);
  return { outcome, sha256, h1: inspected.h1, size, objectKey };
}

function assertExpectedSha256(c: PackageCandidate, sha256: string): void {
  if (c.expected.sha256 && c.expected.sha256.toLowerCase() !== sha256) {
    throw new IntegrityError(`checksum mismatch for ${c.filename}: expected sha256 ${c.expected.sha256}, got ${sha256}`);
  }
}

/** An object this ingest stored, and the verified local bytes it came from. */
interface StoredCopy {
  key: string;
  file: string;
  size: number;
  sha256: string;
}

/**
 * The row is committed; make sure its object is still there. An aborted ingest
 * of the same bytes (same key) or the orphan sweep may have checked the rows
 * just before ours committed and deleted the object just after: put it back.
 */
async function ensureStored(deps: IngestDeps, ours: StoredCopy, signal?: AbortSignal): Promise<void> {
  if (await deps.store.head(ours.key)) return;
  await putVerified(deps, ours.key, ours.file, ours.size, ours.sha256, signal);
}

/** Records the package; if another writer won the race with other bytes, our object is removed again. */
async function recordOrDiscard(deps: IngestDeps, ours: StoredCopy, p: Parameters<ProviderRepository['recordPackage']>[0]) {
  try {
    // A busy database (another process writing) is waited out here, off the event loop, rather than
    // failing an ingest whose download and checks are already done.
    return await whenNotBusy(() => deps.providers.recordPackage(p));
  } catch (err) {
    if (err instanceof Conflict) await discardUnreferenced(deps, ours);
    throw err;
  }
}

/**
 * Removes an object this ingest stored, unless a row references its key: a
 * concurrent ingest of the same package (same bytes, so the same key) may have
 * published it. The check is one statement, so it sees every committed row;
 * but that ingest may commit between our check and our delete, so the rows
 * are asked again afterwards and, if one appeared, our verified bytes are put
 * back. (That ingest also re-checks its object after committing, which covers
 * a commit after our second look.)
 */
async function discardUnreferenced(deps: IngestDeps, ours: StoredCopy): Promise<void> {
  if (deps.providers.isObjectKeyInUse(ours.key)) return;
  await deps.store.delete(ours.key).catch(() => undefined);
  if (!deps.providers.isObjectKeyInUse(ours.key)) return;
  await putVerified(deps, ours.key, ours.file, ours.size, ours.sha256).catch(() => undefined);
}

/**
 * Runs the inspection and the upload concurrently; the first failure aborts
 * the other and undoes the upload. Resolves with the inspection's result.
 */
async function alongside<T>(
  inspect: (signal: AbortSignal) => Promise<T>,
  upload: (signal: AbortSignal) => Promise<void>,
  undoUpload: () => Promise<void>,
  signal?: AbortSignal,
): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  signal?.addEventListener('abort', abort, { once: true });
  // The first failure is the cause; the other side then fails only because it was aborted.
  let first: { reason: unknown } | undefined;
  const fail = <V>(p: Promise<V>) => p.catch((err: unknown) => ((first ??= { reason: err }), controller.abort(), Promise.reject(err)));
  const [inspected, uploaded] = await Promise.allSettled([fail(inspect(controller.signal)), fail(upload(controller.signal))]);
  signal?.removeEventListener('abort', abort);
  if (inspected.status === 'fulfilled' && uploaded.status === 'fulfilled') return inspected.value;
  if (uploaded.status === 'fulfilled') await undoUpload().catch(() => undefined);
  throw signal?.aborted ? signal.reason : first!.reason;
}

/** providers/{host}/{ns}/{type}/{version}/{sha256 prefix}/{filename} */
function contentKey(c: PackageCandidate, sha256: string): string {
  const canonical = packageKey(c.provider, c.version, c.filename);
  const slash = canonical.lastIndexOf('/');
  return `${canonical.slice(0, slash)}/${sha256.slice(0, 16)}${canonical.slice(slash)}`;
}

/** Streams the file into the store, re-hashing what actually flowed, so a file changed under us is caught. */
async function putVerified(deps: IngestDeps, key: string, file: string, size: number, sha256: string, signal?: AbortSignal) {
  const hash = createHash('sha256');
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const source = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  source.on('error', (err) => tee.destroy(err));
  await deps.store.put(key, source.pipe(tee), { size, contentType: 'application/zip', signal });
  const streamed = hash.digest('hex');
  if (streamed !== sha256) {
    // What was stored is not the verified bytes: remove it unless a row (another ingest) vouches for that key.
    if (!deps.providers.isObjectKeyInUse(key)) await deps.store.delete(key).catch(() => undefined);
    throw new IntegrityError(`${file} changed while it was being stored (sha256 ${streamed}, expected ${sha256})`);
  }
}

export async function sha256File(file: string, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20, signal })) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

function zipLimits(l: LimitsConfig) {
  return { maxEntries: l.zipMaxEntries, maxUncompressedBytes: l.zipMaxUncompressedBytes, maxRatio: l.zipMaxRatio };
}
