import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FakeRegistry } from '../fixtures/fake-registry.js';
import { type RegistryClientOptions, RegistryClient, UPSTREAM_LIMITS } from '../../server/src/upstream/registry.js';
import { type VerifiedSignature, verifyPackage } from '../../server/src/upstream/verify.js';

/** A sleep that records the delays asked for and returns at once: retries are asserted, not waited for. */
export function recordingSleep(): { sleeps: number[]; sleep: (ms: number) => Promise<void> } {
  const sleeps: number[] = [];
  return {
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
  };
}

export function clientFor(registry: FakeRegistry, options: Partial<RegistryClientOptions> = {}): RegistryClient {
  return new RegistryClient({ hostname: registry.hostname, url: registry.url, ca: registry.caPem, ...options });
}

export async function sha256OfStream(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** What the write path will do: metadata, release documents, download while hashing, then verify. */
export async function fetchVerified(
  client: RegistryClient,
  p: { namespace: string; type: string; version: string; os: string; arch: string },
): Promise<VerifiedSignature> {
  const info = await client.downloadInfo(p.namespace, p.type, p.version, p.os, p.arch);
  const shasums = await client.fetchBytes(info.shasumsUrl, UPSTREAM_LIMITS.shasums);
  const signature = await client.fetchBytes(info.shasumsSignatureUrl, UPSTREAM_LIMITS.signature);
  const download = await client.download(info.downloadUrl);
  const { sha256 } = await sha256OfStream(download.body);
  return verifyPackage({ filename: info.filename, shasum: info.shasum, archiveSha256: sha256, shasums, signature, keys: info.signingKeys });
}
