import { createHash } from 'node:crypto';
import test from 'ava';
import { InvalidInput } from '../../server/src/errors.js';
import { h1FromEntries, parseHash, zhFromSha256Hex } from '../../server/src/providers/hashes.js';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

test('h1 reproduces the worked example from the protocol reference', (t) => {
  const h1 = h1FromEntries([
    { name: 'terraform-provider-null', sha256Hex: '1c705b4eb296bde8abd99a75e9df466cbafcbc6e201ff77658787245f76f5343' },
  ]);
  t.is(h1, 'h1:qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g=');
});

test('h1 accepts upper-case digests and hashes them as lower case (Go prints %x)', (t) => {
  const lower = '1c705b4eb296bde8abd99a75e9df466cbafcbc6e201ff77658787245f76f5343';
  t.is(
    h1FromEntries([{ name: 'terraform-provider-null', sha256Hex: lower.toUpperCase() }]),
    'h1:qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g=',
  );
});

test('h1 of no entries is the hash of the empty summary', (t) => {
  t.is(h1FromEntries([]), `h1:${createHash('sha256').digest('base64')}`);
});

test('h1 does not depend on the order entries are given in', (t) => {
  const a = { name: 'a', sha256Hex: sha256('1') };
  const b = { name: 'b/c', sha256Hex: sha256('2') };
  t.is(h1FromEntries([a, b]), h1FromEntries([b, a]));
});

test('h1 changes when contents are swapped between two names', (t) => {
  const before = h1FromEntries([
    { name: 'a', sha256Hex: sha256('1') },
    { name: 'b', sha256Hex: sha256('2') },
  ]);
  const after = h1FromEntries([
    { name: 'a', sha256Hex: sha256('2') },
    { name: 'b', sha256Hex: sha256('1') },
  ]);
  t.not(before, after);
});

test('h1 changes when a name changes', (t) => {
  t.not(
    h1FromEntries([{ name: 'dir/a', sha256Hex: sha256('1') }]),
    h1FromEntries([{ name: 'dir/A', sha256Hex: sha256('1') }]),
  );
});

test('h1 sorts names in byte order: "B" before "a", "\\u{10000}" after "\\uFFFD"', (t) => {
  const entries = [
    { name: 'a', sha256Hex: sha256('x') },
    { name: 'B', sha256Hex: sha256('y') },
    { name: '\u{10000}', sha256Hex: sha256('z') },
    { name: '\uFFFD', sha256Hex: sha256('w') },
  ];
  // Summary assembled by hand in UTF-8 byte order: B (42) < a (61) < EF BF BD < F0 90 80 80.
  const summary =
    `${sha256('y')}  B\n${sha256('x')}  a\n${sha256('w')}  \uFFFD\n${sha256('z')}  \u{10000}\n`;
  t.is(h1FromEntries(entries), `h1:${createHash('sha256').update(summary, 'utf8').digest('base64')}`);
});

test('h1 keeps duplicate names as separate lines, as Go does', (t) => {
  const line = `${sha256('1')}  a\n`;
  t.is(
    h1FromEntries([
      { name: 'a', sha256Hex: sha256('1') },
      { name: 'a', sha256Hex: sha256('1') },
    ]),
    `h1:${createHash('sha256').update(line + line).digest('base64')}`,
  );
});

test('h1 refuses names containing a newline', (t) => {
  const err = t.throws(() => h1FromEntries([{ name: 'a\nb', sha256Hex: sha256('') }]), { instanceOf: InvalidInput });
  t.regex(err.message, /newlines/);
});

test('h1 refuses a malformed digest', (t) => {
  t.throws(() => h1FromEntries([{ name: 'a', sha256Hex: 'abc' }]), { instanceOf: InvalidInput });
});

test('zh is the lowercase hex sha256 with its prefix', (t) => {
  const hex = sha256('zip bytes');
  t.is(zhFromSha256Hex(hex.toUpperCase()), `zh:${hex}`);
  t.throws(() => zhFromSha256Hex('zz'), { instanceOf: InvalidInput });
});

test('parseHash reads h1 and zh hashes', (t) => {
  t.deepEqual(parseHash('h1:qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g='), {
    scheme: 'h1',
    value: 'qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g=',
    text: 'h1:qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g=',
  });
  const hex = sha256('x');
  t.deepEqual(parseHash(`zh:${hex.toUpperCase()}`), { scheme: 'zh', value: hex, text: `zh:${hex}` });
});

const badHashes: [string, RegExp][] = [
  ['', /unsupported hash/],
  ['qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g=', /unsupported hash/],
  ['h2:qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g=', /unsupported hash/],
  ['H1:qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g=', /unsupported hash/],
  ['h1:qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g', /invalid h1 hash/],
  ['h1:qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05h=', /invalid h1 hash/],
  ['h1:qjsREM4DqEWECD43FcPqddZ9oxCG-IaMTxvWPciS05g=', /invalid h1 hash/],
  ['zh:1234', /invalid zh hash/],
  [`zh: ${'a'.repeat(64)}`, /invalid zh hash/],
];
for (const [s, message] of badHashes) {
  test(`parseHash rejects ${JSON.stringify(s)}`, (t) => {
    const err = t.throws(() => parseHash(s), { instanceOf: InvalidInput });
    t.regex(err.message, message);
  });
}
