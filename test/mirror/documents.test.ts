import test from 'ava';
import { presentVersion } from '../../server/src/mirror/documents.js';
import type { VerifiedRelease } from '../../server/src/pull/ports.js';

function release(archive: { sha256: string; h1?: string[] }): VerifiedRelease {
  return {
    version: '3.2.1',
    protocols: [],
    shasums: Buffer.alloc(0),
    signature: undefined,
    signingKeys: [],
    keyIds: [],
    signed: false,
    archives: {
      linux_amd64: { os: 'linux', arch: 'amd64', filename: 'terraform-provider-null_3.2.1_linux_amd64.zip', downloadUrl: 'https://m.example/x.zip', ...archive },
    },
  };
}

type VersionDoc = { archives: Record<string, { url: string; hashes: string[] }> };

test('a platform not yet held from an h1-only network mirror lists its h1 and no empty zh:', (t) => {
  const doc = presentVersion([], release({ sha256: '', h1: ['h1:abc='] })) as VersionDoc;
  t.deepEqual(doc.archives.linux_amd64, { url: '3.2.1/terraform-provider-null_3.2.1_linux_amd64.zip', hashes: ['h1:abc='] });
});

test('a platform not yet held from a signed release lists the zh: of its verified SHA256SUMS', (t) => {
  const doc = presentVersion([], release({ sha256: 'a'.repeat(64) })) as VersionDoc;
  t.deepEqual(doc.archives.linux_amd64!.hashes, [`zh:${'a'.repeat(64)}`]);
});
