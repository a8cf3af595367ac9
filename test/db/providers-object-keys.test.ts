import test from 'ava';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository, type NewPackage } from '../../server/src/db/providers.js';

function pkg(over: Partial<NewPackage> = {}): NewPackage {
  return {
    provider: { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' },
    version: '3.2.1',
    origin: 'loaded',
    os: 'linux',
    arch: 'amd64',
    filename: 'terraform-provider-null_3.2.1_linux_amd64.zip',
    size: 10,
    sha256: 'a'.repeat(64),
    h1: 'h1:x',
    objectKey: 'providers/null/3.2.1/linux_amd64.zip',
    ...over,
  };
}

test('an object key named by a package is referenced', (t) => {
  const repo = new ProviderRepository(openDatabase(':memory:'));
  t.false(repo.isObjectKeyReferenced('providers/null/3.2.1/linux_amd64.zip'));
  repo.recordPackage(pkg());
  t.true(repo.isObjectKeyReferenced('providers/null/3.2.1/linux_amd64.zip'));
  t.false(repo.isObjectKeyReferenced('providers/null/3.2.1/darwin_arm64.zip'));
});

test('the SHA256SUMS and signature keys of a version are referenced', (t) => {
  const repo = new ProviderRepository(openDatabase(':memory:'));
  repo.recordPackage(pkg({ evidence: { shasumsKey: 'sums', signatureKey: 'sig', keyIds: ['K'] } }));
  t.true(repo.isObjectKeyReferenced('sums'));
  t.true(repo.isObjectKeyReferenced('sig'));
  t.false(repo.isObjectKeyReferenced('other'));
});
