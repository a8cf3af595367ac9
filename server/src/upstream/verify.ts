/**
 * Terraform's package authentication for registry downloads, in its order
 * (internal/getproviders PackageAuthenticationAll):
 *   1. the signed SHA256SUMS lists `filename` with exactly the metadata's shasum;
 *   2. the archive's sha256 equals that shasum (the caller hashes while streaming);
 *   3. the SHA256SUMS signature verifies with one of the listed keys.
 * Failing any step rejects the package, so the messages say which step failed
 * ("checksum" or "signature") for operators reading a job's error.
 *
 * These stay IntegrityErrors, unlike the UpstreamErrors of a misbehaving
 * answer: a bad signature or checksum is a property of the package, the same
 * whoever serves it, and no retry will fix it. Messages name digests, key ids
 * and line numbers, never the text of SHA256SUMS or of a key.
 */

import type * as OpenPgp from 'openpgp';
import { IntegrityError, InvalidInput } from '../errors.js';
import { isSha256Hex } from '../providers/hashes.js';
import { parseSha256Sums } from '../providers/sha256sums.js';
import { MAX_ARMOR_BYTES, MAX_SIGNING_KEYS } from './documents.js';

export interface VerificationKey {
  key_id: string;
  ascii_armor: string;
}

export interface VerifiedSignature {
  /** The primary key id of the key that verified, 16 uppercase hex digits. */
  keyId: string;
  /** Its fingerprint, uppercase hex. */
  fingerprint: string;
  /** The key_id the registry listed for that key (may differ in case or form). */
  listedKeyId: string;
}

/** Step 1: SHA256SUMS has a line for exactly `filename` whose digest is `shasum`. */
export function verifyShasumsLine(shasums: Uint8Array | string, filename: string, shasum: string): void {
  const text = typeof shasums === 'string' ? shasums : Buffer.from(shasums).toString('utf8');
  let sums: Map<string, string>;
  try {
    sums = parseSha256Sums(text);
  } catch (err) {
    // The parser's message quotes the offending line: say where, not what.
    if (err instanceof InvalidInput) {
      const where = err.details.line === undefined ? 'it is malformed' : `line ${err.details.line} is malformed`;
      throw new IntegrityError(`SHA256SUMS cannot be used to check the checksum of ${filename}: ${where}`);
    }
    throw err;
  }
  const listed = sums.get(filename);
  if (listed === undefined) throw new IntegrityError(`checksum for ${filename} is not listed in SHA256SUMS`);
  if (listed !== shasum.toLowerCase()) {
    throw new IntegrityError(`checksum mismatch for ${filename}: SHA256SUMS lists ${listed}, the registry metadata says ${shasum.toLowerCase()}`);
  }
}

/** Step 2: the downloaded archive hashes to the expected sha256. */
export function assertSha256(actual: string, expected: string, filename: string): void {
  if (!isSha256Hex(actual) || actual.toLowerCase() !== expected.toLowerCase()) {
    throw new IntegrityError(`checksum mismatch for ${filename}: expected sha256 ${expected.toLowerCase()}, downloaded archive has ${actual.toLowerCase()}`);
  }
}

/**
 * Step 3: the detached binary signature over the exact SHA256SUMS bytes
 * verifies with one of `keys`. Keys are tried one by one, as Terraform does.
 * Expired keys are accepted, as Terraform does by default: openpgp checks a
 * key's validity at the signature's creation time, so a release signed while
 * its key was valid stays valid after the key expires.
 */
export async function verifySignature(shasums: Uint8Array, signature: Uint8Array, keys: readonly VerificationKey[]): Promise<VerifiedSignature> {
  if (keys.length === 0) throw new IntegrityError('signature cannot be verified: the registry listed no signing keys');
  if (keys.length > MAX_SIGNING_KEYS) {
    throw new IntegrityError(`signature not checked: ${keys.length} signing keys listed, at most ${MAX_SIGNING_KEYS} are tried`);
  }
  const parsed = await readDetachedSignature(signature);
  const tried: string[] = [];
  for (const [i, candidate] of keys.entries()) {
    const outcome = await tryKey(shasums, parsed, candidate);
    if (typeof outcome !== 'string') return outcome;
    tried.push(`${keyLabel(candidate.key_id, i)} (${outcome})`);
  }
  const signedBy = parsed.getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
  throw new IntegrityError(
    `signature verification failed: SHA256SUMS is signed by key ${signedBy.join(', ') || 'unknown'}, ` +
      `which none of the listed keys verifies; tried ${tried.join('; ')}`,
  );
}

/** A listed key_id as messages show it: only when it looks like one (hex), else its position. */
function keyLabel(keyId: string, index: number): string {
  return /^[0-9A-Fa-f]{8,40}$/.test(keyId) ? keyId : `key #${index + 1}`;
}

/** A library's message, bounded: openpgp's are its own words, but a long one says nothing more. */
function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

// openpgp is a large bundle that only verification needs: loaded on first use, `serve` starts without it.
let openpgpLib: Promise<typeof OpenPgp> | undefined;
const loadOpenpgp = () => (openpgpLib ??= import('openpgp'));

async function readDetachedSignature(signature: Uint8Array): Promise<OpenPgp.Signature> {
  const openpgp = await loadOpenpgp();
  if (signature.length > MAX_ARMOR_BYTES) throw new IntegrityError(`signature file is ${signature.length} bytes, more than ${MAX_ARMOR_BYTES}`);
  try {
    return await openpgp.readSignature({ binarySignature: signature });
  } catch (err) {
    throw new IntegrityError(`signature file is not a binary OpenPGP signature: ${reason(err)}`);
  }
}

/** The verified result, or a short reason why this key did not verify. */
async function tryKey(shasums: Uint8Array, signature: OpenPgp.Signature, candidate: VerificationKey): Promise<VerifiedSignature | string> {
  if (Buffer.byteLength(candidate.ascii_armor) > MAX_ARMOR_BYTES) return `armor larger than ${MAX_ARMOR_BYTES} bytes`;
  const openpgp = await loadOpenpgp();
  let key: OpenPgp.Key;
  try {
    key = await openpgp.readKey({ armoredKey: candidate.ascii_armor });
  } catch (err) {
    return `unreadable key: ${reason(err)}`;
  }
  try {
    const result = await openpgp.verify({
      message: await openpgp.createMessage({ binary: shasums }),
      signature,
      verificationKeys: key,
      expectSigned: false,
      format: 'binary',
    });
    // A .sig may hold several signatures (one per releasing key): any one made by this key will do.
    const outcomes = await Promise.allSettled(result.signatures.map((s) => s.verified));
    if (outcomes.length === 0) return 'no signature packet';
    const failure = outcomes.find((o) => o.status === 'rejected');
    if (!outcomes.some((o) => o.status === 'fulfilled')) return failure ? reason(failure.reason) : 'not verified';
  } catch (err) {
    return reason(err);
  }
  return {
    keyId: key.getKeyID().toHex().toUpperCase(),
    fingerprint: key.getFingerprint().toUpperCase(),
    listedKeyId: candidate.key_id,
  };
}

export interface PackageEvidence {
  filename: string;
  /** The registry metadata's shasum. */
  shasum: string;
  /** sha256 hex of the downloaded archive, computed while streaming it. */
  archiveSha256: string;
  shasums: Uint8Array;
  signature: Uint8Array;
  keys: readonly VerificationKey[];
}

/**
 * All three steps, in Terraform's order, once the archive has been hashed.
 * Step 1 is cheap and may also be run before downloading, to fail early.
 */
export async function verifyPackage(e: PackageEvidence): Promise<VerifiedSignature> {
  verifyShasumsLine(e.shasums, e.filename, e.shasum);
  assertSha256(e.archiveSha256, e.shasum, e.filename);
  return verifySignature(e.shasums, e.signature, e.keys);
}
