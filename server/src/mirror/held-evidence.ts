import type { ProviderIdentity } from '../db/providers.js';
import { parseSha256Sums } from '../providers/sha256sums.js';
import { shasumsKey, signatureKey, signingKeysKey } from '../providers/keys.js';
import type { ObjectStore } from '../storage/store.js';
import type { GpgPublicKey } from '../upstream/documents.js';
import type { VerifiedRelease } from '../pull/ports.js';

/** Bound on what is read back: the upstream limits are far below this. */
const MAX_EVIDENCE_BYTES = 2 * 1024 * 1024;

/**
 * A held version's signed evidence as the write path stored it next to its
 * packages (SHA256SUMS, .sig and the registry's signing keys, under canonical
 * keys), so the registry pass-through answers a held version without asking
 * the upstream. undefined when any of the three is missing (an imported
 * version carries none): the caller then asks the upstream.
 */
export async function readHeldRelease(store: ObjectStore, id: ProviderIdentity, version: string, signal?: AbortSignal): Promise<VerifiedRelease | undefined> {
  let files: [Buffer, Buffer, Buffer];
  try {
    files = await Promise.all([
      readAll(store, shasumsKey(id, version), signal),
      readAll(store, signatureKey(id, version), signal),
      readAll(store, signingKeysKey(id, version), signal),
    ]);
  } catch {
    return undefined;
  }
  const [shasums, signature, keysJson] = files;
  let signingKeys: GpgPublicKey[];
  let sums: Map<string, string>;
  try {
    signingKeys = JSON.parse(keysJson.toString('utf8')) as GpgPublicKey[];
    if (!Array.isArray(signingKeys) || signingKeys.length === 0) return undefined;
    sums = parseSha256Sums(shasums.toString('utf8'));
  } catch {
    return undefined;
  }
  const archives: VerifiedRelease['archives'] = {};
  const prefix = `terraform-provider-${id.type}_${version}_`;
  for (const [filename, sha256] of sums) {
    if (!filename.startsWith(prefix) || !filename.endsWith('.zip')) continue;
    const [os, arch, ...rest] = filename.slice(prefix.length, -'.zip'.length).split('_');
    if (!os || !arch || rest.length > 0) continue;
    // The upstream URL is never used from here: downloads go through the mirror's archive route.
    archives[`${os}_${arch}`] = { os, arch, filename, sha256, downloadUrl: '' };
  }
  return {
    version,
    protocols: ['5.0'],
    shasums,
    signature,
    signingKeys,
    keyIds: signingKeys.map((k) => k.key_id),
    signed: true,
    archives,
  };
}

async function readAll(store: ObjectStore, key: string, signal?: AbortSignal): Promise<Buffer> {
  const object = await store.get(key, undefined, signal);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of object.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_EVIDENCE_BYTES) {
      object.body.destroy();
      throw new Error(`${key} is larger than expected`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
