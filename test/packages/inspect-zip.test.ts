import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { IntegrityError, LimitExceeded } from '../../server/src/errors.js';
import { crc32, crc32Fallback } from '../../server/src/packages/crc32.js';
import { type InspectZipLimits, inspectZip } from '../../server/src/packages/inspect-zip.js';
import {
  type RawZipEntry,
  providerExecutableName,
  writeBombZip,
  writeManyEntriesZip,
  writeProviderZip,
  writeRawZip,
  writeZip,
  writeZipSlipZip,
} from '../fixtures/zips.js';

const limits: InspectZipLimits = { maxEntries: 10_000, maxUncompressedBytes: 64 * 1024 * 1024, maxRatio: 100 };

let dir = '';
let counter = 0;
const tmp = (name: string): string => join(dir, `${counter++}-${name}`);

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inspect-zip-'));
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256Hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** h1 computed independently of the code under test: sha256 per entry, lines, byte-order sort, sha256, base64. */
function expectedH1(entries: { name: string; content: Buffer | string }[]): string {
  const lines = entries
    .map((e) => Buffer.from(`${sha256Hex(e.content)}  ${e.name}\n`, 'utf8'))
    .sort((a, b) => Buffer.compare(a.subarray(66), b.subarray(66)));
  return `h1:${createHash('sha256').update(Buffer.concat(lines)).digest('base64')}`;
}

test('a provider package yields its h1, entry count, sizes and per-file digests', async (t) => {
  const path = tmp('provider.zip');
  const entries = await writeProviderZip(path, { type: 'fake', version: '1.2.3' });
  const result = await inspectZip(path, limits);
  t.is(result.h1, expectedH1(entries));
  t.is(result.entries, 1);
  const content = entries[0]?.content ?? '';
  t.deepEqual(result.files, [
    { name: providerExecutableName('fake', '1.2.3'), size: Buffer.byteLength(content), sha256Hex: sha256Hex(content) },
  ]);
  t.is(result.uncompressedBytes, Buffer.byteLength(content));
});

test('h1 of a multi-file zip with a subfolder matches a hand-computed Hash1, directory entries included', async (t) => {
  const path = tmp('multi.zip');
  const entries = [
    { name: 'terraform-provider-x_v1.0.0_x5', content: 'binary', mode: 0o755 },
    { name: 'docs/', content: '' },
    { name: 'docs/README.md', content: '# readme\n' },
    { name: 'LICENSE', content: 'MPL-2.0\n', compress: false },
    { name: 'B', content: 'upper' },
    { name: 'a', content: 'lower' },
  ];
  await writeZip(path, entries);
  const result = await inspectZip(path, limits);
  // Go's HashZip hashes every entry: "docs/" contributes the sha256 of nothing.
  t.is(result.h1, expectedH1(entries));
  t.is(result.entries, 6);
  t.deepEqual(
    result.files.map((f) => f.name),
    entries.map((e) => e.name),
  );
  t.deepEqual(result.files.find((f) => f.name === 'docs/'), { name: 'docs/', size: 0, sha256Hex: sha256Hex('') });
  // Terraform's lock file gets the hash of the unpacked tree, where "docs/" is not a file.
  t.is(result.h1Unpacked, expectedH1(entries.filter((e) => !e.name.endsWith('/'))));
  t.not(result.h1Unpacked, result.h1);
});

test('without directory entries the archive and unpacked hashes agree', async (t) => {
  const path = tmp('flat.zip');
  await writeProviderZip(path, { type: 'fake', version: '1.0.0', extraFiles: [{ name: 'docs/x.md', content: 'x' }] });
  const result = await inspectZip(path, limits);
  t.is(result.h1Unpacked, result.h1);
});

test('h1 matches the value Terraform 1.11 recorded for the same archive contents', async (t) => {
  // Cross-checked once with `terraform providers lock -fs-mirror` on this exact zip
  // (the value does not depend on timestamps or compression).
  const path = tmp('terraform-provider-plain_1.0.0_linux_amd64.zip');
  await writeZip(path, [
    { name: 'terraform-provider-plain_v1.0.0_x5', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
    { name: 'B', content: 'upper' },
    { name: 'a', content: 'lower' },
    { name: 'docs/README.md', content: '# readme\n' },
  ]);
  t.is((await inspectZip(path, limits)).h1, 'h1:zzeHZN4rq7oBP9mekyVCui18MbeF7NkW3CGFKAtz5/U=');
});

test('h1Unpacked matches what Terraform 1.11 recorded for a zip with a directory entry', async (t) => {
  const path = tmp('terraform-provider-withdir_1.0.0_linux_amd64.zip');
  await writeZip(path, [
    { name: 'terraform-provider-withdir_v1.0.0_x5', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
    { name: 'B', content: 'upper' },
    { name: 'a', content: 'lower' },
    { name: 'docs/', content: '' },
    { name: 'docs/README.md', content: '# readme\n' },
  ]);
  const result = await inspectZip(path, limits);
  t.is(result.h1Unpacked, 'h1:4m/j+VyKeF/jh1Vomrj/Cpf8HHeS7EPqpzg0BlH53Dc=');
  t.is(result.h1, 'h1:EEHvSxh6+Nabm4d3G3X1RvzAJ7ZXAkE1N7AYnDntQvk=');
});

test('h1 depends on which content is under which name', async (t) => {
  const original = tmp('o.zip');
  const swapped = tmp('s.zip');
  const renamed = tmp('r.zip');
  await writeZip(original, [{ name: 'a', content: 'one' }, { name: 'b/c', content: 'two' }]);
  await writeZip(swapped, [{ name: 'a', content: 'two' }, { name: 'b/c', content: 'one' }]);
  await writeZip(renamed, [{ name: 'a', content: 'one' }, { name: 'b/d', content: 'two' }]);
  const [o, s, r] = await Promise.all([original, swapped, renamed].map((p) => inspectZip(p, limits)));
  t.not(o?.h1, s?.h1);
  t.not(o?.h1, r?.h1);
});

test('h1 ignores archive order, compression and timestamps', async (t) => {
  const first = tmp('1.zip');
  const second = tmp('2.zip');
  await writeZip(first, [{ name: 'a', content: 'one' }, { name: 'b', content: 'two'.repeat(100) }]);
  await writeRawZip(second, [
    { name: 'b', content: 'two'.repeat(100), method: 0 },
    { name: 'a', content: 'one', method: 8 },
  ]);
  const [x, y] = await Promise.all([inspectZip(first, limits), inspectZip(second, limits)]);
  t.is(x.h1, y.h1);
});

test('h1 sorts names in byte order ("B" before "a")', async (t) => {
  const path = tmp('order.zip');
  await writeZip(path, [{ name: 'a', content: '1' }, { name: 'B', content: '2' }]);
  const summary = `${sha256Hex('2')}  B\n${sha256Hex('1')}  a\n`;
  t.is((await inspectZip(path, limits)).h1, `h1:${createHash('sha256').update(summary).digest('base64')}`);
});

async function rejects(
  t: import('ava').ExecutionContext,
  path: string,
  errorClass: typeof IntegrityError | typeof LimitExceeded,
  message: RegExp,
  overrideLimits: InspectZipLimits = limits,
): Promise<void> {
  const err = await t.throwsAsync(inspectZip(path, overrideLimits), { instanceOf: errorClass });
  t.regex(err?.message ?? '', message);
}

test('zip-slip entry "../evil" is refused as an unsafe entry name', async (t) => {
  const path = tmp('slip.zip');
  await writeZipSlipZip(path);
  await rejects(t, path, IntegrityError, /^unsafe entry name "\.\.\/evil": contains a "\.\." segment$/);
});

const unsafeNames: [string, string | Buffer, RegExp][] = [
  ['an absolute path', '/etc/passwd', /unsafe entry name "\/etc\/passwd": absolute path/],
  ['a drive letter', 'C:/Windows/x', /unsafe entry name "C:\/Windows\/x": starts with a drive letter/],
  ['a backslash', 'dir\\..\\evil', /unsafe entry name "dir\\\\\.\.\\\\evil": contains a backslash/],
  ['a NUL', 'a\0b', /unsafe entry name "a\\u0000b": contains a control character/],
  ['a newline', 'a\nb', /unsafe entry name "a\\nb": contains a control character/],
  ['a nested ".." segment', 'a/../../b', /unsafe entry name "a\/\.\.\/\.\.\/b"/],
  ['invalid UTF-8', Buffer.from([0x61, 0xff, 0x62]), /unsafe entry name .*not valid UTF-8/],
  ['an empty name', '', /unsafe entry name "": empty name/],
];
for (const [what, name, message] of unsafeNames) {
  test(`an entry name with ${what} is refused`, async (t) => {
    const path = tmp('unsafe.zip');
    await writeRawZip(path, [{ name, content: 'x' }]);
    await rejects(t, path, IntegrityError, message);
  });
}

// Built once: two tests use it.
let bomb: Promise<string> | undefined;
function bombZip(): Promise<string> {
  bomb ??= (async () => {
    const path = tmp('bomb.zip');
    await writeBombZip(path);
    return path;
  })();
  return bomb;
}

test('a zip bomb (50 MiB of zeros, ratio ~1000) is refused before inflating', async (t) => {
  const path = await bombZip();
  await rejects(t, path, LimitExceeded, /^entry "zeros\.bin" looks like a zip bomb: \d+ bytes inflate to 52428800 \(ratio \d{3,}, limit 100\)$/);
});

test('a declared total above the limit is refused before inflating', async (t) => {
  const path = tmp('big.zip');
  await writeRawZip(path, [
    { name: 'a', content: 'x'.repeat(1000), method: 0 },
    { name: 'b', content: 'y'.repeat(1000), method: 0 },
  ]);
  await rejects(t, path, LimitExceeded, /declares more than 1500 uncompressed bytes \(reached 2000 at entry "b"\)/, {
    ...limits,
    maxUncompressedBytes: 1500,
  });
});

test('more entries than the limit are refused from the central directory count', async (t) => {
  const path = tmp('many.zip');
  await writeManyEntriesZip(path, 10_001);
  await rejects(t, path, LimitExceeded, /^zip archive has 10001 entries, more than the limit of 10000$/);
});

test('a truncated zip is not a valid zip archive', async (t) => {
  const full = tmp('full.zip');
  const cut = tmp('cut.zip');
  await writeProviderZip(full, { type: 'fake', version: '1.0.0' });
  const bytes = await readFile(full);
  await writeFile(cut, bytes.subarray(0, bytes.length - 30));
  await rejects(t, cut, IntegrityError, /^not a valid zip archive: /);
});

test('a zip missing its middle bytes is not a valid zip archive', async (t) => {
  const full = tmp('full.zip');
  const holed = tmp('holed.zip');
  await writeProviderZip(full, { type: 'fake', version: '1.0.0' });
  const bytes = await readFile(full);
  await writeFile(holed, Buffer.concat([bytes.subarray(0, 20), bytes.subarray(200)]));
  await rejects(t, holed, IntegrityError, /not a valid zip archive/);
});

test('a file that is not a zip is not a valid zip archive', async (t) => {
  const path = tmp('text.zip');
  await writeFile(path, 'this is not a zip\n');
  await rejects(t, path, IntegrityError, /^not a valid zip archive: end of central directory record signature not found/i);
});

test('a missing file is a file-system error, not an integrity error', async (t) => {
  const err = await t.throwsAsync(inspectZip(join(dir, 'nope.zip'), limits));
  t.false(err instanceof IntegrityError);
  t.is((err as NodeJS.ErrnoException).code, 'ENOENT');
});

const corrupt: [string, RawZipEntry[], RegExp][] = [
  ['an encrypted entry', [{ name: 'secret', content: 'x', flags: 0x1 }], /^entry "secret" is encrypted/],
  [
    'an entry inflating to more than declared',
    [{ name: 'liar', content: 'z'.repeat(100_000), declaredUncompressedSize: 10 }],
    /entry "liar".*(more than its declared 10 bytes|does not match the declared size)/,
  ],
  [
    'an entry inflating to less than declared',
    [{ name: 'short', content: 'z'.repeat(100), declaredUncompressedSize: 1000 }],
    /entry "short": actual size does not match the declared size/,
  ],
  [
    'a stored entry whose sizes disagree',
    [{ name: 'stored', content: 'abc', method: 0, declaredUncompressedSize: 2 }],
    /not a valid zip archive: compressed\/uncompressed size mismatch/,
  ],
  ['a bad CRC-32', [{ name: 'flipped', content: 'data', crc32: 12345 }], /^entry "flipped" fails its CRC-32 check/],
  [
    'a duplicate name',
    [{ name: 'twice', content: '1' }, { name: 'twice', content: '2' }],
    /^duplicate entry name "twice"/,
  ],
  [
    'an unsupported compression method',
    [{ name: 'bz', content: 'x', method: 12 }],
    /^entry "bz" uses unsupported compression method 12/,
  ],
  [
    'a directory entry with content',
    [{ name: 'dir/', content: 'oops', method: 0 }],
    /^directory entry "dir\/" declares 4 bytes/,
  ],
];
for (const [what, entries, message] of corrupt) {
  test(`${what} is an IntegrityError`, async (t) => {
    const path = tmp('corrupt.zip');
    await writeRawZip(path, entries);
    await rejects(t, path, IntegrityError, message);
  });
}

test('corrupt deflate data is an IntegrityError naming the entry', async (t) => {
  // Write a deflate entry whose data is garbage: raw writer with method 8 deflates,
  // so patch the method of a stored entry in the bytes instead.
  const path = tmp('garbage.zip');
  await writeRawZip(path, [{ name: 'junk', content: Buffer.from([0xff, 0xff, 0xff, 0xff]), method: 0 }]);
  const bytes = await readFile(path);
  bytes.writeUInt16LE(8, 8); // local header method
  const central = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  bytes.writeUInt16LE(8, central + 10);
  await writeFile(path, bytes);
  await rejects(t, path, IntegrityError, /entry "junk"/);
});

test('an already aborted signal stops inspection', async (t) => {
  const path = tmp('p.zip');
  await writeProviderZip(path, { type: 'fake', version: '1.0.0' });
  const controller = new AbortController();
  controller.abort();
  // The default abort reason is a DOMException, which ava does not treat as an Error.
  const err: unknown = await inspectZip(path, limits, controller.signal).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.is((err as { name?: string } | undefined)?.name, 'AbortError');
});

test('aborting while an entry is inflating stops inspection with the abort reason', async (t) => {
  const path = await bombZip();
  const controller = new AbortController();
  const running = inspectZip(path, { ...limits, maxUncompressedBytes: 2 ** 30, maxRatio: 10_000 }, controller.signal);
  setTimeout(() => controller.abort(new Error('shutting down')), 5);
  await t.throwsAsync(running, { message: 'shutting down' });
});

test('the CRC-32 fallback agrees with the native implementation', (t) => {
  const data = Buffer.from('The quick brown fox jumps over the lazy dog');
  t.is(crc32Fallback(data), 0x414fa339);
  t.is(crc32(data), 0x414fa339);
  t.is(crc32Fallback(data.subarray(10), crc32Fallback(data.subarray(0, 10))), 0x414fa339);
});
