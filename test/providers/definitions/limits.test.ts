import test from 'ava';
import { InvalidInput, LimitExceeded } from '../../../server/src/errors.js';
import {
  MAX_DEFINITIONS_BYTES,
  MAX_PROVIDERS,
  parseDefinitions,
} from '../../../server/src/providers/definitions/index.js';

function yamlProviders(count: number): string {
  const items = Array.from(
    { length: count },
    (_, n) => `  - {source: ns/p${n}, versions: ["1.0.0"], platforms: [linux_amd64]}\n`,
  );
  return `providers:\n${items.join('')}`;
}

/** Empty blocks: the count is checked before the blocks are, and parse faster. */
function hclProviders(count: number): string {
  return Array.from({ length: count }, (_, n) => `provider "ns/p${n}" {}\n`).join('');
}

test('a document over 1 MiB is refused before parsing', async (t) => {
  const text = `# ${'x'.repeat(MAX_DEFINITIONS_BYTES)}\nproviders: []\n`;
  const err = await t.throwsAsync(() => parseDefinitions(text, { format: 'yaml', file: 'big.yaml' }), {
    instanceOf: LimitExceeded,
  });
  t.regex(err.message, /^big\.yaml: definitions are \d+ bytes, more than the limit of 1048576$/);
});

test('the size limit counts bytes, not characters', async (t) => {
  const text = `# ${'é'.repeat(MAX_DEFINITIONS_BYTES / 2)}\nproviders: []\n`;
  await t.throwsAsync(() => parseDefinitions(text, { format: 'yaml' }), { instanceOf: LimitExceeded });
});

test('exactly 1,000 providers are accepted', async (t) => {
  const defs = (await parseDefinitions(yamlProviders(MAX_PROVIDERS), { format: 'yaml' })).providers;
  t.is(defs.length, MAX_PROVIDERS);
});

const tooMany = [
  { name: 'YAML', format: 'yaml' as const, text: yamlProviders(MAX_PROVIDERS + 1), line: 1002 },
  { name: 'JSON', format: 'json' as const, text: `{"providers": [\n${'{},\n'.repeat(MAX_PROVIDERS)}{}]}`, line: 1002 },
  { name: 'HCL', format: 'hcl' as const, text: hclProviders(MAX_PROVIDERS + 1), line: 1001 },
];
for (const c of tooMany) {
  test(`more than 1,000 providers in ${c.name} are refused at the first one too many`, async (t) => {
    const err = await t.throwsAsync(() => parseDefinitions(c.text, { format: c.format, file: 'many' }), {
      instanceOf: LimitExceeded,
    });
    t.is(err.message, `many:${c.line}: more than 1000 providers in one document`);
  });
}

// yaml exhausts memory on deep flow nesting; every format is checked before parsing.
for (const format of ['yaml', 'json', 'hcl'] as const) {
  test(`deeply nested brackets are refused with a position (${format})`, async (t) => {
    const text = `${'\n'.repeat(2)}${'['.repeat(100_000)}`;
    const err = await t.throwsAsync(() => parseDefinitions(text, { format, file: 'deep' }), {
      instanceOf: InvalidInput,
    });
    t.is(err.message, 'deep:3:65: brackets nested more than 64 levels deep');
  });
}

test('too many YAML aliases are refused', async (t) => {
  const aliases = Array.from({ length: 101 }, () => '*p').join(', ');
  const text = `providers:\n  - source: a/b\n    versions: ["1.0.0"]\n    platforms: &p [linux_amd64]\n    x: [${aliases}]\n`;
  const err = await t.throwsAsync(() => parseDefinitions(text, { format: 'yaml' }), { instanceOf: InvalidInput });
  t.regex(err.message, /more than 100 aliases/);
});
