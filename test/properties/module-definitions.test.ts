/**
 * Property tests for module definitions: a valid module list printed to HCL,
 * YAML and JSON parses to the same definitions in each (beside providers, in
 * one document); mutated documents give definitions, InvalidInput or
 * LimitExceeded, in bounded time.
 */

import test from 'ava';
import fc from 'fast-check';
import { InvalidInput, LimitExceeded } from '../../server/src/errors.js';
import { parseDefinitions, type DefinitionFormat, type ModuleDefinition } from '../../server/src/providers/definitions/index.js';
import { smallVersion, validConstraint } from './arbitraries.js';
import { assertProperty, outcome } from './helpers.js';
import { mutatedText } from './mutate.js';

interface ModuleModel {
  hostname?: string;
  namespace: string;
  name: string;
  system: string;
  versions: string[];
  latest?: number;
}

const namePart = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9_-]{0,8}[A-Za-z0-9])?$/);
const system = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const sourceOf = (m: ModuleModel) => `${m.hostname ? `${m.hostname}/` : ''}${m.namespace}/${m.name}/${m.system}`;

const moduleModels: fc.Arbitrary<ModuleModel[]> = fc.uniqueArray(
  fc.record(
    {
      hostname: fc.constantFrom('registry.terraform.io', 'Example.COM:8443', 'registry.opentofu.org'),
      namespace: namePart,
      name: namePart,
      system,
      versions: fc.uniqueArray(fc.oneof(smallVersion, validConstraint), { minLength: 1, maxLength: 3, selector: (v) => v.trim() }),
      latest: fc.integer({ min: 1, max: 10 }),
    },
    { requiredKeys: ['namespace', 'name', 'system', 'versions'] },
  ),
  // One module, one entry: addresses match with the hostname's case folded, the rest as written.
  { minLength: 1, maxLength: 4, selector: (m) => `${(m.hostname ?? 'registry.terraform.io').toLowerCase()}/${m.namespace}/${m.name}/${m.system}` },
);

const PROVIDER_HCL = 'provider "hashicorp/null" {\n  versions  = ["3.2.1"]\n  platforms = ["linux_amd64"]\n}\n';
const PROVIDER_JSON = { source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64'] };

function toHcl(models: readonly ModuleModel[]): string {
  const blocks = models.map((m) => {
    const lines = [`module ${JSON.stringify(sourceOf(m))} {`, `  versions = [${m.versions.map((v) => JSON.stringify(v)).join(', ')}]`];
    if (m.latest !== undefined) lines.push(`  latest = ${m.latest}`);
    return `${lines.join('\n')}\n}\n`;
  });
  return `${PROVIDER_HCL}\n${blocks.join('\n')}`;
}

function entry(m: ModuleModel) {
  return { source: sourceOf(m), versions: m.versions, ...(m.latest === undefined ? {} : { latest: m.latest }) };
}

function toJson(models: readonly ModuleModel[]): string {
  return JSON.stringify({ providers: [PROVIDER_JSON], modules: models.map(entry) }, null, 2);
}

function toYaml(models: readonly ModuleModel[]): string {
  const items = models.map((m) => {
    const lines = [`  - source: ${sourceOf(m)}`, `    versions: [${m.versions.map((v) => JSON.stringify(v)).join(', ')}]`];
    if (m.latest !== undefined) lines.push(`    latest: ${m.latest}`);
    return lines.join('\n');
  });
  return `modules:\n${items.join('\n')}\nproviders:\n  - {source: hashicorp/null, versions: ["3.2.1"], platforms: [linux_amd64]}\n`;
}

const PRINTERS: Record<DefinitionFormat, (m: readonly ModuleModel[]) => string> = { hcl: toHcl, yaml: toYaml, json: toJson };
const withoutPositions = (defs: ModuleDefinition[]) => defs.map(({ position: _p, ...rest }) => rest);

test.serial('valid module definitions printed to HCL, YAML and JSON parse to the same result in each', async (t) => {
  await assertProperty(
    t,
    moduleModels,
    async (models) => {
      const parsed = await Promise.all((['json', 'yaml', 'hcl'] as const).map((format) => parseDefinitions(PRINTERS[format](models), { format })));
      const [fromJson, fromYaml, fromHcl] = parsed.map((d) => d.modules);
      t.deepEqual(withoutPositions(fromYaml!), withoutPositions(fromJson!));
      t.deepEqual(withoutPositions(fromHcl!), withoutPositions(fromJson!));
      for (const d of parsed) t.is(d.providers.length, 1);
      t.deepEqual(
        fromJson!.map((d) => d.source),
        models.map((m) => `${(m.hostname ?? 'registry.terraform.io').toLowerCase()}/${m.namespace}/${m.name}/${m.system}`),
      );
      for (const format of ['json', 'yaml', 'hcl'] as const) {
        const auto = (await parseDefinitions(PRINTERS[format](models), { format: 'auto' })).modules;
        t.deepEqual(withoutPositions(auto), withoutPositions(fromJson!), `auto-detected ${format}`);
      }
    },
    { numRuns: 30 },
  );
});

for (const [format, numRuns] of [['json', 600], ['yaml', 300], ['hcl', 60]] as const) {
  test.serial(`mutated ${format.toUpperCase()} module definitions give definitions, InvalidInput or LimitExceeded`, async (t) => {
    await assertProperty(
      t,
      mutatedText(moduleModels.map(PRINTERS[format]), 6),
      async (text) => {
        const r = await outcome(() => parseDefinitions(text, { format, file: 'defs' }), { cpuMs: 2000, allowed: [InvalidInput, LimitExceeded] });
        if (!r.ok) return;
        for (const m of r.value.modules) {
          if (m.versions.length === 0) throw new Error(`no versions in ${m.source}`);
          if (m.source.split('/').length !== 4) throw new Error(`source not normalized: ${m.source}`);
        }
      },
      { numRuns },
    );
  });
}
