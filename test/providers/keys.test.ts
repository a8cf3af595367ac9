import test from 'ava';
import { InvalidInput } from '../../server/src/errors.js';
import {
  isValidPackageFilename,
  packageFilename,
  packageKey,
  providerKeyPrefix,
  shasumsKey,
  signatureKey,
  versionKeyPrefix,
} from '../../server/src/providers/keys.js';

const random = { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'random' };

test('packageFilename follows the upstream release naming', (t) => {
  t.is(packageFilename('random', '2.0.0', 'linux', 'amd64'), 'terraform-provider-random_2.0.0_linux_amd64.zip');
  t.is(packageFilename('Random', '1.0.0-rc.1', 'darwin', 'arm64'), 'terraform-provider-random_1.0.0-rc.1_darwin_arm64.zip');
});

test('packageFilename rejects invalid parts', (t) => {
  t.throws(() => packageFilename('random', 'v2.0.0', 'linux', 'amd64'), { instanceOf: InvalidInput });
  t.throws(() => packageFilename('ran/dom', '2.0.0', 'linux', 'amd64'), { instanceOf: InvalidInput });
  t.throws(() => packageFilename('random', '2.0.0', 'linux', 'x64'), { instanceOf: InvalidInput });
});

test('packageKey is providers/{hostname}/{namespace}/{type}/{version}/{filename}', (t) => {
  t.is(
    packageKey(random, '2.0.0', 'terraform-provider-random_2.0.0_linux_amd64.zip'),
    'providers/registry.terraform.io/hashicorp/random/2.0.0/terraform-provider-random_2.0.0_linux_amd64.zip',
  );
});

test('keys use the normalized address', (t) => {
  const upper = { hostname: 'Example.com:443', namespace: 'Acme', type: 'Thing' };
  t.is(providerKeyPrefix(upper), 'providers/example.com/acme/thing/');
  t.is(versionKeyPrefix(upper, '1.0.0'), 'providers/example.com/acme/thing/1.0.0/');
});

test('shasums and signature keys sit next to the packages', (t) => {
  t.is(
    shasumsKey(random, '2.0.0'),
    'providers/registry.terraform.io/hashicorp/random/2.0.0/terraform-provider-random_2.0.0_SHA256SUMS',
  );
  t.is(
    signatureKey(random, '2.0.0'),
    'providers/registry.terraform.io/hashicorp/random/2.0.0/terraform-provider-random_2.0.0_SHA256SUMS.sig',
  );
});

const escapes: [string, () => unknown][] = [
  ['a ".." version', () => packageKey(random, '..', 'x.zip')],
  ['a version with a slash', () => packageKey(random, '1.0.0/../../x', 'x.zip')],
  ['a filename with a slash', () => packageKey(random, '1.0.0', '../x.zip')],
  ['a namespace of ".."', () => packageKey({ ...random, namespace: '..' }, '1.0.0', 'x.zip')],
  ['a hostname with a slash', () => packageKey({ ...random, hostname: 'a/b' }, '1.0.0', 'x.zip')],
];
for (const [name, make] of escapes) {
  test(`a key cannot be built from ${name}`, (t) => {
    t.throws(make, { instanceOf: InvalidInput });
  });
}

const filenames: [string, boolean][] = [
  ['terraform-provider-random_2.0.0_linux_amd64.zip', true],
  ['terraform-provider-x_1.0.0+build.1_linux_amd64.zip', true],
  ['x.zip', true],
  ['.zip', false],
  ['..zip', false],
  ['.hidden.zip', false],
  ['a/b.zip', false],
  ['a\\b.zip', false],
  ['a b.zip', false],
  ['a%2fb.zip', false],
  ['a.ZIP', false],
  ['a.tar.gz', false],
  [`${'a'.repeat(252)}.zip`, false],
];
for (const [name, ok] of filenames) {
  test(`package filename ${JSON.stringify(name.slice(0, 60))} is ${ok ? 'valid' : 'invalid'}`, (t) => {
    t.is(isValidPackageFilename(name), ok);
  });
}
