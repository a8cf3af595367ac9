import test from 'ava';
import { HclSyntaxError, hclDiagnostics } from '../../server/src/hcl/diagnostics.js';
import { parseHcl } from '../../server/src/hcl/parse.js';
import { InvalidInput } from '../../server/src/errors.js';

// Messages exactly as hcl2json 0.21 words them for the inputs named.
const cases: { name: string; raw: string; expected: { line: number; column: number; message: string }[] }[] = [
  {
    name: 'one diagnostic gives its position and "Summary: Detail"',
    raw: 'parse config: [input.hcl:2,23-24: Missing item separator; Expected a comma to mark the beginning of the next item.]',
    expected: [{ line: 2, column: 23, message: 'Missing item separator: Expected a comma to mark the beginning of the next item.' }],
  },
  {
    name: 'a range spanning lines is positioned at its start',
    raw: 'parse config: [input.hcl:1,8-2,1: Invalid expression; Expected the start of an expression, but found an invalid expression token.]',
    expected: [{ line: 1, column: 8, message: 'Invalid expression: Expected the start of an expression, but found an invalid expression token.' }],
  },
  {
    name: 'a mention of another place becomes "line N"',
    raw: 'parse config: [input.hcl:3,2-3: Attribute redefined; The argument "a" was already set at input.hcl:2,2-3. Each argument may be set only once.]',
    expected: [{ line: 3, column: 2, message: 'Attribute redefined: The argument "a" was already set at line 2. Each argument may be set only once.' }],
  },
  {
    name: 'distinct diagnostics are all kept, repeated ones once',
    raw:
      'parse config: [input.hcl:1,7-2,1: Invalid multi-line string; Quoted strings may not be split. input.hcl:2,6-3,1: Invalid multi-line string; Quoted strings may not be split. ' +
      'input.hcl:1,7-2,1: Unterminated template string; No closing marker was found for the string.]',
    expected: [
      { line: 1, column: 7, message: 'Invalid multi-line string: Quoted strings may not be split.' },
      { line: 1, column: 7, message: 'Unterminated template string: No closing marker was found for the string.' },
    ],
  },
  {
    name: 'a structural error without a position gives no diagnostics',
    raw: 'convert to HCL: convert file: convert body: convert block: Unable to convert Block to JSON: provider.a',
    expected: [],
  },
  {
    name: 'text that only looks like a position in a detail is not a new diagnostic',
    raw: 'parse config: [input.hcl:1,5-6: Invalid character; The "x.hcl:9,9-9" text is not used within the language.]',
    expected: [{ line: 1, column: 5, message: 'Invalid character: The "x.hcl:9,9-9" text is not used within the language.' }],
  },
];

for (const c of cases) {
  test(`hcl2json message: ${c.name}`, (t) => {
    t.deepEqual(hclDiagnostics(c.raw), c.expected);
  });
}

test('a syntax error is an HclSyntaxError (an InvalidInput) positioned at its first diagnostic', async (t) => {
  const err = await t.throwsAsync(parseHcl('a = 1\nb = [1 2]\n'), { instanceOf: HclSyntaxError });
  t.true(err instanceof InvalidInput);
  t.deepEqual(err!.diagnostics.map((d) => [d.line, d.column]), [[2, 8]]);
  t.regex(err!.diagnostics[0]!.message, /^Missing item separator: /);
  t.like(err!.details, { line: 2, column: 8 });
});

test('valid HCL resolves with hcl2json JSON, whatever the caller calls its file', async (t) => {
  t.deepEqual(await parseHcl('server {\n  listen = "x"\n}\n'), { server: [{ listen: 'x' }] });
});

test('parses run concurrently on the parser thread and each gets its own answer', async (t) => {
  const results = await Promise.allSettled([parseHcl('a = 1\n'), parseHcl('a = [\n'), parseHcl('b = 2\n')]);
  t.deepEqual(results[0], { status: 'fulfilled', value: { a: 1 } });
  t.is(results[1]!.status, 'rejected');
  t.deepEqual(results[2], { status: 'fulfilled', value: { b: 2 } });
});
