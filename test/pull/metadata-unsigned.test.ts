import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { openDatabase } from '../../server/src/db/database.js';
import { UpstreamCacheRepository } from '../../server/src/db/upstream-cache.js';
import { IntegrityError, NotFound } from '../../server/src/errors.js';
import { CachedUpstreamMetadata } from '../../server/src/pull/metadata.js';
import type { DownloadInfo, DownloadTrust } from '../../server/src/upstream/documents.js';
import { InvalidUpstreamResponse } from '../../server/src/upstream/errors.js';
import type { ProviderRegistry } from '../../server/src/upstream/registry.js';

const HOST = 'mirror.example.com';
const ID = { hostname: HOST, namespace: 'acme', type: 'widget' };
const SUMS_URL = 'https://mirror.example.com/files/SHA256SUMS';
const SHA = (c: string) => c.repeat(64);

/** An in-memory upstream (the ProviderRegistry port) whose documents carry the given trust per platform. */
function upstream(trusts: Record<string, DownloadTrust>, files: Record<string, string> = {}) {
  const fetched: string[] = [];
  const doc = (platform: string, trust: DownloadTrust): DownloadInfo => {
    const [os = '', arch = ''] = platform.split('_');
    const unsignedMirror = trust.kind === 'unsigned' && trust.reason === 'network_mirror';
    return {
      protocols: ['5.0'],
      os: os as DownloadInfo['os'],
      arch: arch as DownloadInfo['arch'],
      filename: `terraform-provider-widget_1.0.0_${platform}.zip`,
      downloadUrl: `https://${HOST}/files/${platform}.zip`,
      shasumsUrl: unsignedMirror ? '' : SUMS_URL,
      shasumsSignatureUrl: '',
      shasum: platform === 'linux_amd64' ? SHA('a') : SHA('b'),
      signingKeys: [],
      trust,
    };
  };
  const registry: ProviderRegistry = {
    hostname: HOST,
    listVersions: async () => ({ versions: [{ version: '1.0.0', protocols: ['5.0'], platforms: Object.keys(trusts).map((p) => ({ os: p.split('_')[0], arch: p.split('_')[1] }) as never) }], problems: [], warnings: [] }),
    downloadInfo: async (_ns, _type, _v, os, arch) => {
      const trust = trusts[`${os}_${arch}`];
      if (trust === undefined) throw new NotFound('no such platform');
      return doc(`${os}_${arch}`, trust);
    },
    fetchBytes: async (url) => {
      fetched.push(url);
      const body = files[url];
      if (body === undefined) throw new NotFound(`${url} not found upstream`);
      return Buffer.from(body);
    },
    download: async () => {
      throw new Error('not used here');
    },
  };
  return { registry, fetched };
}

function metadataOver(registry: ProviderRegistry, t: { teardown(fn: () => void): void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-metadata-unsigned-'));
  const db = openDatabase(path.join(dir, 'tfmirror.db'));
  const metadata = new CachedUpstreamMetadata({ registry: () => registry, cache: new UpstreamCacheRepository(db), metadataTtlMs: 60_000, staleIfErrorMs: 60_000 });
  t.teardown(() => {
    void metadata.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return metadata;
}

const MIRROR: DownloadTrust = { kind: 'unsigned', reason: 'network_mirror', h1: ['h1:AAAA'] };
const NO_KEYS: DownloadTrust = { kind: 'unsigned', reason: 'no_signing_keys', h1: [] };

test('a network mirror release is unsigned, vouched for by its own hashes, with no SHA256SUMS fetched', async (t) => {
  const { registry, fetched } = upstream({ linux_amd64: MIRROR, darwin_arm64: MIRROR });
  const release = (await metadataOver(registry, t).release(ID, '1.0.0')).value;
  t.false(release.signed);
  t.deepEqual(release.keyIds, []);
  t.is(release.signature, undefined);
  t.like(release.archives['linux_amd64'], { sha256: SHA('a'), h1: ['h1:AAAA'] });
  t.deepEqual(fetched, []);
});

test('an allow_unsigned release still needs SHA256SUMS to name every archive; the signature is not fetched', async (t) => {
  const sums = `${SHA('a')}  terraform-provider-widget_1.0.0_linux_amd64.zip\n${SHA('b')}  terraform-provider-widget_1.0.0_darwin_arm64.zip\n`;
  const good = upstream({ linux_amd64: NO_KEYS, darwin_arm64: NO_KEYS }, { [SUMS_URL]: sums });
  const release = (await metadataOver(good.registry, t).release(ID, '1.0.0')).value;
  t.false(release.signed);
  t.is(release.shasums.toString(), sums);
  t.deepEqual(good.fetched, [SUMS_URL]);

  const partial = upstream({ linux_amd64: NO_KEYS, darwin_arm64: NO_KEYS }, { [SUMS_URL]: sums.split('\n')[0]! + '\n' });
  const err = await t.throwsAsync(metadataOver(partial.registry, t).release(ID, '1.0.0'), { instanceOf: IntegrityError });
  t.regex(err.message, /darwin_arm64\.zip is not listed in SHA256SUMS/);
});

test('a release whose platforms are vouched for differently is refused', async (t) => {
  const { registry } = upstream({ linux_amd64: MIRROR, darwin_arm64: NO_KEYS });
  const err = await t.throwsAsync(metadataOver(registry, t).release(ID, '1.0.0'), { instanceOf: InvalidUpstreamResponse });
  t.regex(err.message, /disagree on how they are vouched for/);
});
