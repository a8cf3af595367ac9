/**
 * In-memory adapters of the pull-through ports (UpstreamMetadata,
 * ArchivePuller), with counters and switches, for testing the seam on its own.
 */

import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { ProviderIdentity } from '../../server/src/db/providers.js';
import { IntegrityError, NotFound } from '../../server/src/errors.js';
import type { ArchivePuller, Cached, PulledArchive, UpstreamHealthState, UpstreamMetadata, VerifiedRelease } from '../../server/src/pull/ports.js';
import { UpstreamUnavailable } from '../../server/src/upstream/errors.js';
import type { UpstreamVersion } from '../../server/src/upstream/documents.js';

export interface FakeUpstreamProvider {
  id: ProviderIdentity;
  /** version → platforms → archive bytes. */
  versions: Record<string, Record<string, Buffer>>;
}

export type MetadataMode = 'up' | 'down' | { slowMs: number };

export class FakeMetadata implements UpstreamMetadata {
  calls = { versions: 0, release: 0 };
  mode: MetadataMode = 'up';
  freshness: Cached<unknown>['freshness'] = 'fresh';
  /** When the fake upstream "answered"; undefined: at each call, as a fresh fetch would. */
  fetchedAt: number | undefined;
  retryAt: number | undefined;
  private readonly providers = new Map<string, FakeUpstreamProvider>();

  constructor(providers: FakeUpstreamProvider[] = []) {
    for (const p of providers) this.add(p);
  }

  add(p: FakeUpstreamProvider): void {
    this.providers.set(addr(p.id), p);
  }

  async versions(id: ProviderIdentity): Promise<Cached<UpstreamVersion[]>> {
    this.calls.versions++;
    await this.behave();
    const p = this.find(id);
    const value = Object.entries(p.versions).map(([version, platforms]) => ({
      version,
      protocols: ['5.0'],
      platforms: Object.keys(platforms).map((pl) => ({ os: pl.split('_')[0]!, arch: pl.split('_')[1]! })),
    })) as UpstreamVersion[];
    return { value, freshness: this.freshness, fetchedAt: this.fetchedAt ?? Date.now() };
  }

  async release(id: ProviderIdentity, version: string): Promise<Cached<VerifiedRelease>> {
    this.calls.release++;
    await this.behave();
    const platforms = this.find(id).versions[version];
    if (!platforms) throw new NotFound(`no version ${version} upstream`);
    return { value: fakeRelease(id, version, platforms), freshness: this.freshness, fetchedAt: this.fetchedAt ?? Date.now() };
  }

  health(hostname: string): UpstreamHealthState {
    return this.retryAt === undefined
      ? { hostname, state: 'up', consecutiveFailures: 0 }
      : { hostname, state: 'backing_off', retryAt: this.retryAt, consecutiveFailures: 3 };
  }

  private find(id: ProviderIdentity): FakeUpstreamProvider {
    const p = this.providers.get(addr(id));
    if (!p) throw new NotFound(`no provider ${addr(id)} upstream`);
    return p;
  }

  private async behave(): Promise<void> {
    if (this.mode === 'down') throw new UpstreamUnavailable('connection refused', { url: 'https://upstream.example/' });
    if (typeof this.mode === 'object') await new Promise((r) => setTimeout(r, (this.mode as { slowMs: number }).slowMs));
  }
}

export function fakeRelease(id: ProviderIdentity, version: string, platforms: Record<string, Buffer>): VerifiedRelease {
  const archives: VerifiedRelease['archives'] = {};
  const lines: string[] = [];
  for (const [platform, bytes] of Object.entries(platforms)) {
    const [os, arch] = platform.split('_') as [string, string];
    const filename = `terraform-provider-${id.type}_${version}_${platform}.zip`;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    lines.push(`${sha256}  ${filename}`);
    archives[platform] = { os, arch, filename, sha256, downloadUrl: `https://upstream.example/${filename}` };
  }
  return {
    version,
    protocols: ['5.0'],
    shasums: Buffer.from(`${lines.join('\n')}\n`),
    signature: Buffer.from('fake signature'),
    signingKeys: [{ key_id: 'ABCDEF0123456789', ascii_armor: '-----BEGIN PGP PUBLIC KEY BLOCK-----\nfake\n-----END PGP PUBLIC KEY BLOCK-----' }],
    keyIds: ['ABCDEF0123456789'],
    signed: true,
    archives,
  };
}

/**
 * One "download" per package for concurrent callers, like the real puller:
 * joined callers get their own stream of the same bytes. `tamper` makes the
 * body error after the first bytes, as a failed digest does.
 */
export class FakePuller implements ArchivePuller {
  downloads = 0;
  tamper = false;
  delayMs = 20;
  /** Called before the body is handed out, as the real puller publishes before it releases the last bytes. */
  onPublish: ((id: ProviderIdentity, version: string, platform: string) => void) | undefined;
  private readonly inFlight = new Map<string, Promise<Buffer>>();

  constructor(private readonly bytes: (id: ProviderIdentity, version: string, platform: string) => Buffer) {}

  async pull(id: ProviderIdentity, release: VerifiedRelease, platform: string): Promise<PulledArchive> {
    const key = `${addr(id)}|${release.version}|${platform}`;
    let p = this.inFlight.get(key);
    const via = p ? 'joined' : 'started';
    if (!p) {
      this.downloads++;
      p = new Promise<Buffer>((r) => setTimeout(() => r(this.bytes(id, release.version, platform)), this.delayMs)).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    const bytes = await p;
    if (!this.tamper) this.onPublish?.(id, release.version, platform);
    const sha256 = release.archives[platform]!.sha256;
    if (!this.tamper) return { size: bytes.length, sha256, body: Readable.from([bytes]), via };
    const body = new PassThrough();
    body.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    setTimeout(() => body.destroy(new IntegrityError(`sha256 of ${platform} does not match the signed SHA256SUMS`)), 10);
    return { size: bytes.length, sha256, body, via };
  }
}

function addr(id: ProviderIdentity): string {
  return `${id.hostname}/${id.namespace}/${id.type}`;
}
