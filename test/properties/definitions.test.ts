/**
 * Property tests for the provider definition parsers (HCL, YAML, JSON):
 * mutated valid documents and random text give definitions, InvalidInput or
 * LimitExceeded — in bounded time and memory; a valid definition printed to
 * each format parses to the same result. HCL goes through hcl2json on a
 * worker thread, so it gets fewer runs.
 */

import test from 'ava';
import fc from 'fast-check';
import { InvalidInput, LimitExceeded } from '../../server/src/errors.js';
import {
  MAX_ITEMS,
  parseDefinitions,
  type DefinitionFormat,
  type ProviderDefinition,
} from '../../server/src/providers/definitions/index.js';
import { providerModels, type ProviderModel } from './arbitraries.js';
import { sourceOf, toHcl, toJson, toYaml } from './documents.js';
import { runBounded } from './bounded-worker.js';
import { assertProperty, outcome } from './helpers.js';
import { mutatedText } from './mutate.js';

const ALLOWED = [InvalidInput, LimitExceeded] as const;
// CPU time per case (hcl2json included: it runs on a thread of this process).
const CPU_MS = 2000;

const PRINTERS: Record<DefinitionFormat, (m: readonly ProviderModel[]) => string> = { hcl: toHcl, yaml: toYaml, json: toJson };

const withoutPositions = (defs: ProviderDefinition[]) => defs.map(({ position: _p, ...rest }) => rest);

function checkDefinitions(defs: ProviderDefinition[]): void {
  for (const d of defs) {
    if (d.versions.length === 0 || d.platforms.length === 0) throw new Error(`empty lists in ${d.source}`);
    if (d.source !== d.source.toLowerCase()) throw new Error(`source not normalized: ${d.source}`);
  }
}

async function parseChecked(text: string, format: DefinitionFormat | 'auto'): Promise<void> {
  const r = await outcome(() => parseDefinitions(text, { format, file: 'defs' }), { cpuMs: CPU_MS, allowed: ALLOWED });
  if (r.ok) checkDefinitions(r.value.providers);
}

test.serial('a valid definition printed to HCL, YAML and JSON parses to the same result in each', async (t) => {
  await assertProperty(
    t,
    providerModels,
    async (models) => {
      const fromJson = (await parseDefinitions(toJson(models), { format: 'json' })).providers;
      const fromYaml = (await parseDefinitions(toYaml(models), { format: 'yaml' })).providers;
      const fromHcl = (await parseDefinitions(toHcl(models), { format: 'hcl' })).providers;
      t.deepEqual(withoutPositions(fromYaml), withoutPositions(fromJson));
      t.deepEqual(withoutPositions(fromHcl), withoutPositions(fromJson));
      t.deepEqual(fromJson.map((d) => d.source), models.map((p) => (p.hostname ? sourceOf(p) : `registry.terraform.io/${sourceOf(p)}`)));
      for (const format of ['json', 'yaml', 'hcl'] as const) {
        const auto = (await parseDefinitions(PRINTERS[format](models), { format: 'auto' })).providers;
        t.deepEqual(withoutPositions(auto), withoutPositions(fromJson), `auto-detected ${format}`);
      }
    },
    { numRuns: 40 },
  );
});

for (const [format, numRuns] of [['json', 1200], ['yaml', 600], ['hcl', 120]] as const) {
  test.serial(`mutated ${format.toUpperCase()} definitions give definitions, InvalidInput or LimitExceeded`, async (t) => {
    const docs = mutatedText(providerModels.map(PRINTERS[format]), 6);
    await assertProperty(t, docs, (text) => parseChecked(text, format), { numRuns });
  });
}

test.serial('random text in any format, or auto-detected, gives definitions, InvalidInput or LimitExceeded', async (t) => {
  const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'binary-ascii', maxLength: 300 }));
  await assertProperty(
    t,
    fc.tuple(text, fc.constantFrom('json' as const, 'yaml' as const, 'auto' as const, 'hcl' as const)),
    ([s, format]) => parseChecked(s, format),
    { numRuns: 400 },
  );
});

/** About 1 MiB: the size limit, in shapes that stress each parser differently. */
const BIG_INPUTS: Array<[string, DefinitionFormat, () => string]> = [
  ['a JSON list of 60,000 versions', 'json', () => JSON.stringify({ providers: [{ source: 'a/b', versions: Array.from({ length: 60_000 }, (_, i) => `${i}.0.0`), platforms: ['linux_amd64'] }] })],
  ['a JSON string of 1 MB', 'json', () => JSON.stringify({ providers: [{ source: 'x'.repeat(1_000_000), versions: ['1.0.0'], platforms: ['linux_amd64'] }] })],
  ['JSON nested 64 deep, repeated', 'json', () => `{"providers":[${Array.from({ length: 7000 }, () => `${'['.repeat(62)}${']'.repeat(62)}`).join(',')}]}`],
  ['YAML with 50,000 list items', 'yaml', () => `providers:\n${'  - a\n'.repeat(50_000)}`],
  ['YAML with 100 aliases of a large anchor', 'yaml', () => `x: &a [${'"1.0.0",'.repeat(50_000)}"1"]\nproviders:\n${'  - *a\n'.repeat(100)}`],
  ['YAML with 20,000 duplicate keys', 'yaml', () => `providers: []\n${'a: 1\n'.repeat(20_000)}`],
  ['a JSON document with 1,001 providers', 'json', () => JSON.stringify({ providers: Array.from({ length: 1001 }, (_, i) => ({ source: `a/p${i}`, versions: ['1.0.0'], platforms: ['linux_amd64'] })) })],
  ['HCL with 1,001 provider blocks', 'hcl', () => Array.from({ length: 1001 }, (_, i) => `provider "a/p${i}" {\n  versions = ["1.0.0"]\n  platforms = ["linux_amd64"]\n}\n`).join('')],
  ['HCL of 1 MB over the limit', 'hcl', () => `# ${'x'.repeat(1024 * 1024)}\n`],
  // Found by these bounds: the yaml package needs about 560 MB for this 1 MB document, hcl2json
  // over a minute of CPU for the HCL one, and YAML block nesting is not bounded by brackets.
  ['a YAML flow list of 500,000 items', 'yaml', () => `providers: [${'a,'.repeat(500_000)}a]`],
  ['YAML sequences nested 400,000 deep on one line', 'yaml', () => `${'- '.repeat(400_000)}a\n`],
  ['an HCL list of 500,000 numbers', 'hcl', () => `provider "a/b" {\n  versions = [${'1,'.repeat(500_000)}1]\n  platforms = ["linux_amd64"]\n}\n`],
  ['an HCL list of 200,000 strings', 'hcl', () => `provider "a/b" {\n  versions = [${'"1",'.repeat(200_000)}"1"]\n  platforms = ["linux_amd64"]\n}\n`],
  ['a JSON list of 500,000 numbers', 'json', () => `{"providers":[${'1,'.repeat(500_000)}1]}`],
  ['500,000 empty YAML lines', 'yaml', () => '\n'.repeat(500_000)],
  // Found by these bounds: the yaml package's own duplicate-key check is quadratic (22 s of CPU for this).
  ['YAML with 49,000 distinct keys', 'yaml', () => `providers: []\n${Array.from({ length: 49_000 }, (_, i) => `k${i}: 1\n`).join('')}`],
  ['a YAML flow list just under the item bound', 'yaml', () => `providers: [${'a,'.repeat(MAX_ITEMS - 10)}a]`],
  ['an HCL list just under the item bound', 'hcl', () => `provider "a/b" {\n  versions = [${'"1",'.repeat(MAX_ITEMS - 10)}"1"]\n  platforms = ["linux_amd64"]\n}\n`],
];
const DEFINITIONS_MODULE = new URL('../../server/src/providers/definitions/index.js', import.meta.url).href;
// Far above what these inputs need (tens of MB), far below "hundreds of MB".
const HEAP_LIMIT = { maxOldMb: 160, maxYoungMb: 16 };

for (const [name, format, build] of BIG_INPUTS) {
  test.serial(`${name} is answered with a typed result on a heap capped at ${HEAP_LIMIT.maxOldMb} MB`, async (t) => {
    const text = build();
    t.true(text.length <= 1.1 * 1024 * 1024, `${text.length} characters`);
    const r = await runBounded({ module: DEFINITIONS_MODULE, name: 'parseDefinitions', args: [text, { format }] }, HEAP_LIMIT);
    t.log(`${(text.length / 1024).toFixed(0)} KiB: ${r.ok ? 'definitions' : r.errorName}, heap ${r.heapMb.toFixed(0)} MB, ${r.cpuMs.toFixed(0)} ms CPU`);
    t.true(r.ok || r.errorName === 'InvalidInput' || r.errorName === 'LimitExceeded', `${r.errorName}: ${r.errorMessage}`);
    t.true(r.cpuMs < 5000, `${r.cpuMs} ms of CPU`);
  });
}

// Found while bounding the parsers: hcl2json's Go parser recurses once per nesting level and per
// unary operator; past about 1,000 levels it overflows the JavaScript stack it runs on, and after
// two such documents the Go runtime died ("fatal error: malloc deadlock"): that parse never
// answered and every later HCL parse failed with "Go program has already exited".
test.serial('HCL nested past the parser\'s stack is refused, and later HCL documents still parse', async (t) => {
  const doc = (expr: string) => `provider "a/b" {\n  versions = [${expr}]\n  platforms = ["linux_amd64"]\n}\n`;
  const deep = [doc(`${'-'.repeat(20_000)}1`), doc(`${'('.repeat(3000)}"1"${')'.repeat(3000)}`), doc(`${'-'.repeat(20_000)}1`), doc(`${'!-'.repeat(5000)}1`)];
  for (const text of deep) {
    const r = await outcome(() => parseDefinitions(text, { format: 'hcl' }), { cpuMs: 10_000, wallMs: 20_000, allowed: [InvalidInput] });
    t.false(r.ok);
  }
  const fine = (await parseDefinitions(doc('"1.0.0"'), { format: 'hcl' })).providers;
  t.is(fine.length, 1);
});
