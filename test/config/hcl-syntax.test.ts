import test from 'ava';
import { parseDefinitions } from '../../server/src/providers/definitions/index.js';
import { InvalidInput } from '../../server/src/errors.js';
import { loadError, removeTempDirs } from './helpers.js';

test.after.always(removeTempDirs);

test('an attribute set twice in the config names the first by its line, not by a parser file name', async (t) => {
  const { err, file } = await loadError('server {\n  listen = "127.0.0.1:1"\n  listen = "127.0.0.1:2"\n}\n');
  t.is(
    err.message,
    `${file}:3:3: Attribute redefined: The argument "listen" was already set at line 2. Each argument may be set only once.`,
  );
  t.like(err.details, { file, line: 3, column: 3 });
});

// Config and definitions go through one HCL parse entry, so one mistake reads the same in both.
const sameMistakes = [
  { name: 'an attribute set twice', body: '  latest = 1\n  latest = 2\n', line: 3, column: 3 },
  { name: 'a list without commas', body: '  versions = ["1.0.0" "2.0.0"]\n', line: 2, column: 23 },
  { name: 'an unterminated string', body: '  versions = ["1.0.0]\n', line: 2, column: 22 },
];

for (const m of sameMistakes) {
  test(`config and definitions report ${m.name} at the same place with the same words`, async (t) => {
    const text = `provider "a/b" {\n${m.body}}\n`;
    const { err: configErr, file } = await loadError(text.replace('provider "a/b"', 'jobs'));
    const defsErr = await t.throwsAsync(parseDefinitions(text, { format: 'hcl', file: 'defs.hcl' }), { instanceOf: InvalidInput });
    const configLine = configErr.message.split('\n')[0]!;
    const defsLine = defsErr!.message.split('\n')[0]!;
    t.true(configLine.startsWith(`${file}:${m.line}:${m.column}: `), configLine);
    t.true(defsLine.startsWith(`defs.hcl:${m.line}:${m.column}: HCL syntax error: `), defsLine);
    t.is(configLine.slice(`${file}:${m.line}:${m.column}: `.length), defsLine.slice(`defs.hcl:${m.line}:${m.column}: HCL syntax error: `.length));
  });
}
