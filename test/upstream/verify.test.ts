import anyTest, { type TestFn } from 'ava';
import * as openpgp from 'openpgp';
import { IntegrityError } from '../../server/src/errors.js';
import { assertSha256, verifyShasumsLine, verifySignature } from '../../server/src/upstream/verify.js';
import { type Fault, type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';
import { generateSigningKey, sha256Hex, signDetached } from '../fixtures/fake-registry-releases.js';
import { clientFor, fetchVerified, sha256OfStream } from './helpers.js';

const test = anyTest as TestFn<{ registry: FakeRegistry }>;

const BIG = 8 * 1024 * 1024;

test.before(async (t) => {
  t.context.registry = await startFakeRegistry(
    [{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64', 'darwin_arm64'] } }],
    { bigPackage: { namespace: 'hashicorp', type: 'aws', version: '5.0.0', platform: 'linux_amd64', sizeBytes: BIG } },
  );
});
test.afterEach.always((t) => t.context.registry.clearFaults());
test.after.always(async (t) => t.context.registry.close());

const nullLinux = { namespace: 'hashicorp', type: 'null', version: '3.2.0', os: 'linux', arch: 'amd64' };

test.serial("a package from the registry verifies with the registry's key", async (t) => {
  const { registry } = t.context;
  const verified = await fetchVerified(clientFor(registry), nullLinux);
  t.is(verified.keyId, registry.keyId);
  t.is(verified.listedKeyId, registry.keyId);
  t.regex(verified.fingerprint, /^[0-9A-F]{40}$/);
  t.true(verified.fingerprint.endsWith(registry.keyId));
});

test.serial('a big package streams through and verifies', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry);
  const info = await client.downloadInfo('hashicorp', 'aws', '5.0.0', 'linux', 'amd64');
  const download = await client.download(info.downloadUrl);
  t.true(download.contentLength! > BIG);
  const { sha256, size } = await sha256OfStream(download.body);
  t.is(size, download.contentLength!);
  t.is(sha256, info.shasum);
  t.is((await fetchVerified(client, { ...nullLinux, type: 'aws', version: '5.0.0' })).keyId, registry.keyId);
});

const faults: [string, Fault, RegExp][] = [
  ['a signature by an unlisted key', { kind: 'badSignature' }, /signature verification failed/],
  ['metadata listing a key other than the signer', { kind: 'unknownKey' }, /signature verification failed/],
  ['an archive whose bytes differ from the shasum', { kind: 'shaMismatch' }, /checksum mismatch for terraform-provider-null_3.2.0_linux_amd64.zip: expected sha256/],
  ['a SHA256SUMS that disagrees with the metadata', { kind: 'sumsMismatch' }, /checksum mismatch for .*: SHA256SUMS lists/],
];
for (const [name, fault, message] of faults) {
  test.serial(`${name} is refused`, async (t) => {
    const { registry } = t.context;
    registry.fault({ path: '/hashicorp/null/', fault });
    const err = await t.throwsAsync(fetchVerified(clientFor(registry), nullLinux), { instanceOf: IntegrityError });
    t.regex(err.message, message);
  });
}

test.serial('a signature failure names the signer and the keys tried', async (t) => {
  const { registry } = t.context;
  registry.fault({ path: '/hashicorp/null/', fault: { kind: 'badSignature' } });
  const err = await t.throwsAsync(fetchVerified(clientFor(registry), nullLinux), { instanceOf: IntegrityError });
  t.true(err.message.includes(`signed by key ${registry.unknownKeyId}`));
  t.true(err.message.includes(`tried ${registry.keyId}`));
});

test.serial('a faulty platform does not affect the others', async (t) => {
  const { registry } = t.context;
  registry.fault({ path: 'darwin_arm64.zip', fault: { kind: 'shaMismatch' } });
  await t.throwsAsync(fetchVerified(clientFor(registry), { ...nullLinux, os: 'darwin', arch: 'arm64' }), { message: /checksum/ });
  await t.notThrowsAsync(fetchVerified(clientFor(registry), nullLinux));
});

test('an expired key still verifies what it signed while valid', async (t) => {
  const keyDate = new Date(Date.now() - 2 * 365 * 24 * 3600 * 1000);
  const key = await generateSigningKey('Expired Releases', { date: keyDate, keyExpirationTime: 24 * 3600 });
  const publicKey = await openpgp.readKey({ armoredKey: key.publicKeyArmored });
  t.true(((await publicKey.getExpirationTime()) as Date).getTime() < Date.now(), 'the key has expired');
  const sums = Buffer.from(`${'a'.repeat(64)}  terraform-provider-x_1.0.0_linux_amd64.zip\n`);
  const signature = await signDetached(sums, key, new Date(keyDate.getTime() + 3600 * 1000));
  const verified = await verifySignature(sums, signature, [{ key_id: key.keyId, ascii_armor: key.publicKeyArmored }]);
  t.is(verified.keyId, key.keyId);
});

test('the verifying key is found among several', async (t) => {
  const [good, other] = await Promise.all([generateSigningKey('Good'), generateSigningKey('Other')]);
  const sums = Buffer.from('hello\n');
  const signature = await signDetached(sums, good);
  const keys = [
    { key_id: 'BROKEN', ascii_armor: 'not a key' },
    { key_id: other.keyId, ascii_armor: other.publicKeyArmored },
    { key_id: good.keyId.toLowerCase(), ascii_armor: good.publicKeyArmored },
  ];
  const verified = await verifySignature(sums, signature, keys);
  t.is(verified.keyId, good.keyId);
  t.is(verified.listedKeyId, good.keyId.toLowerCase());
});

test('a signature over other bytes fails, listing every key tried', async (t) => {
  const key = await generateSigningKey('Good');
  const signature = await signDetached(Buffer.from('original\n'), key);
  const err = await t.throwsAsync(
    verifySignature(Buffer.from('tampered\n'), signature, [
      { key_id: 'BROKEN', ascii_armor: 'not a key' },
      { key_id: key.keyId, ascii_armor: key.publicKeyArmored },
    ]),
    { instanceOf: IntegrityError },
  );
  t.regex(err.message, /signature verification failed/);
  t.regex(err.message, /key #1 \(unreadable key/, 'a key_id that is not hex is named by position, not quoted');
  t.true(err.message.includes(`${key.keyId} (`));
});

test('a signature file that is not OpenPGP is refused', async (t) => {
  const key = await generateSigningKey('Good');
  await t.throwsAsync(verifySignature(Buffer.from('x'), Buffer.from('garbage'), [{ key_id: key.keyId, ascii_armor: key.publicKeyArmored }]), {
    instanceOf: IntegrityError,
    message: /signature file is not a binary OpenPGP signature/,
  });
});

test('no keys, or more than ten, are refused before any cryptography', async (t) => {
  await t.throwsAsync(verifySignature(Buffer.from('x'), Buffer.from('y'), []), { instanceOf: IntegrityError, message: /signature .* no signing keys/ });
  const many = Array.from({ length: 11 }, (_, i) => ({ key_id: String(i), ascii_armor: '' }));
  await t.throwsAsync(verifySignature(Buffer.from('x'), Buffer.from('y'), many), { instanceOf: IntegrityError, message: /11 signing keys/ });
});

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const sumsCases: [string, string, string, string, RegExp | undefined][] = [
  ['the exact line', `${A}  p_1_linux_amd64.zip\n`, 'p_1_linux_amd64.zip', A, undefined],
  ['an uppercase digest', `${A.toUpperCase()}  p.zip\n`, 'p.zip', A, undefined],
  ['no line for the file', `${A}  other.zip\n`, 'p.zip', A, /checksum for p.zip is not listed in SHA256SUMS/],
  ['a line for a longer name only', `${A}  p.zip.old\n`, 'p.zip', A, /not listed/],
  ['another digest', `${B}  p.zip\n`, 'p.zip', A, /checksum mismatch for p.zip: SHA256SUMS lists b+, the registry metadata says a+/],
  ['a malformed file', `nonsense\n`, 'p.zip', A, /SHA256SUMS cannot be used to check the checksum of p.zip: .*line 1/],
];
for (const [name, text, filename, shasum, error] of sumsCases) {
  test(`SHA256SUMS step with ${name}`, (t) => {
    if (error === undefined) t.notThrows(() => verifyShasumsLine(Buffer.from(text), filename, shasum));
    else t.throws(() => verifyShasumsLine(Buffer.from(text), filename, shasum), { instanceOf: IntegrityError, message: error });
  });
}

test('assertSha256 compares case-insensitively and says checksum on mismatch', (t) => {
  const digest = sha256Hex(Buffer.from('zip'));
  t.notThrows(() => assertSha256(digest, digest.toUpperCase(), 'p.zip'));
  t.throws(() => assertSha256(sha256Hex(Buffer.from('other')), digest, 'p.zip'), { instanceOf: IntegrityError, message: /checksum mismatch for p.zip/ });
});
