import test from 'ava';
import { InvalidInput } from '../../server/src/errors.js';
import { formatSha256Sums, parseSha256Sums } from '../../server/src/providers/sha256sums.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'C'.repeat(64);

test('SHA256SUMS lines parse into filename → lowercase hex, in file order', (t) => {
  const text = [
    `${A}  terraform-provider-null_3.2.1_linux_amd64.zip`,
    `${B} *terraform-provider-null_3.2.1_darwin_arm64.zip`,
    `${C}  terraform-provider-null_3.2.1_manifest.json`,
    '',
  ].join('\n');
  const sums = parseSha256Sums(text);
  t.deepEqual([...sums], [
    ['terraform-provider-null_3.2.1_linux_amd64.zip', A],
    ['terraform-provider-null_3.2.1_darwin_arm64.zip', B],
    ['terraform-provider-null_3.2.1_manifest.json', C.toLowerCase()],
  ]);
});

test('SHA256SUMS without a final newline, with CRLF, or empty, parses', (t) => {
  t.is(parseSha256Sums(`${A}  x.zip`).get('x.zip'), A);
  t.is(parseSha256Sums(`${A}  x.zip\r\n${B}  y.zip\r\n`).get('y.zip'), B);
  t.is(parseSha256Sums('').size, 0);
});

test('the same file listed twice with the same digest is accepted', (t) => {
  t.is(parseSha256Sums(`${A}  x.zip\n${A}  x.zip\n`).size, 1);
});

const malformed: [string, string, number, RegExp][] = [
  ['one space', `${A}  ok.zip\n${A} x.zip\n`, 2, /line 2: malformed line/],
  ['short digest', `${'a'.repeat(63)}  x.zip\n`, 1, /line 1: malformed line/],
  ['long digest', `${'a'.repeat(65)}  x.zip\n`, 1, /line 1: malformed line/],
  ['non-hex digest', `${'g'.repeat(64)}  x.zip\n`, 1, /malformed line/],
  ['missing name', `${A}  \n`, 1, /malformed line/],
  ['blank line in the middle', `${A}  x.zip\n\n${B}  y.zip\n`, 2, /line 2: malformed/],
  ['tab separator', `${A}\tx.zip\n`, 1, /malformed/],
  ['name with a slash', `${A}  ok.zip\n${B}  ok2.zip\n${A}  ../x.zip\n`, 3, /line 3: invalid file name "..\/x.zip"/],
  ['name with a space', `${A}  x y.zip\n`, 1, /invalid file name/],
  ['name with a backslash', `${A}  a\\b.zip\n`, 1, /invalid file name/],
  ['conflicting duplicate', `${A}  x.zip\n${B}  x.zip\n`, 2, /listed again with a different digest/],
];
for (const [name, text, line, message] of malformed) {
  test(`SHA256SUMS with ${name} is rejected at line ${line}`, (t) => {
    const err = t.throws(() => parseSha256Sums(text, { file: 'p_1.0.0_SHA256SUMS' }), { instanceOf: InvalidInput });
    t.is(err.details.line, line);
    t.is(err.details.file, 'p_1.0.0_SHA256SUMS');
    t.regex(err.message, message);
    t.true(err.message.startsWith(`p_1.0.0_SHA256SUMS line ${line}:`));
  });
}

test('formatSha256Sums writes sha256sum format sorted by name, and parses back', (t) => {
  const text = formatSha256Sums(
    new Map([
      ['b.zip', B],
      ['B.zip', C],
      ['a.zip', A],
    ]),
  );
  t.is(text, `${C.toLowerCase()}  B.zip\n${A}  a.zip\n${B}  b.zip\n`);
  t.deepEqual([...parseSha256Sums(text).keys()], ['B.zip', 'a.zip', 'b.zip']);
});

test('formatSha256Sums refuses names and digests it could not write back', (t) => {
  t.throws(() => formatSha256Sums([['a b.zip', A]]), { instanceOf: InvalidInput });
  t.throws(() => formatSha256Sums([['a.zip', 'xyz']]), { instanceOf: InvalidInput });
});
