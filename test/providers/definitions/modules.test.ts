import test from 'ava';
import { LimitExceeded } from '../../../server/src/errors.js';
import {
  MAX_MODULES,
  parseDefinitions,
  type DefinitionFormat,
  type ModuleDefinition,
} from '../../../server/src/providers/definitions/index.js';
import { lines, parseError } from './helpers.js';

const VPC = { hostname: 'registry.terraform.io', namespace: 'terraform-aws-modules', name: 'vpc', system: 'aws' };

function withoutPositions(defs: ModuleDefinition[]) {
  return defs.map(({ position: _position, ...rest }) => rest);
}

test('module blocks, modules lists in YAML and JSON parse to the same definitions', async (t) => {
  const hcl = lines(
    'module "terraform-aws-modules/vpc/aws" {',
    '  versions = ["~> 5.0", "4.0.0"]',
    '  latest   = 2',
    '}',
    'module "example.com:8443/Acme/Net/google" {',
    '  versions = ["1.2.3"]',
    '}',
  );
  const yaml = lines(
    'modules:',
    '  - source: terraform-aws-modules/vpc/aws',
    '    versions: ["~> 5.0", "4.0.0"]',
    '    latest: 2',
    '  - source: EXAMPLE.com:8443/Acme/Net/google',
    '    versions: ["1.2.3"]',
  );
  const json = JSON.stringify({
    modules: [
      { source: 'terraform-aws-modules/vpc/aws', versions: ['~> 5.0', '4.0.0'], latest: 2 },
      { source: 'example.com:8443/Acme/Net/google', versions: ['1.2.3'] },
    ],
  });
  const fromHcl = await parseDefinitions(hcl, { format: 'hcl' });
  t.deepEqual(fromHcl.providers, []);
  const [vpc, net] = fromHcl.modules;
  t.deepEqual(vpc!.address, VPC);
  t.is(vpc!.source, 'registry.terraform.io/terraform-aws-modules/vpc/aws');
  t.deepEqual(vpc!.versions.map((v) => [v.text, v.exact ?? null]), [['~> 5.0', null], ['4.0.0', '4.0.0']]);
  t.is(vpc!.latest, 2);
  t.deepEqual(vpc!.position, { line: 1, column: 1 });
  // The hostname is lowercased; the other parts keep the case the registry answers them in.
  t.is(net!.source, 'example.com:8443/Acme/Net/google');
  t.is(net!.latest, undefined);
  t.deepEqual(net!.position, { line: 5, column: 1 });
  for (const [format, text] of [['yaml', yaml], ['json', json]] as const) {
    const parsed = await parseDefinitions(text, { format });
    t.deepEqual(withoutPositions(parsed.modules), withoutPositions(fromHcl.modules), format);
    t.deepEqual(parsed.providers, [], format);
  }
});

test('one document holds providers and modules; auto detection finds a module-only HCL file', async (t) => {
  const hcl = lines(
    'provider "hashicorp/null" {',
    '  versions  = ["3.2.1"]',
    '  platforms = ["linux_amd64"]',
    '}',
    '',
    'module "terraform-aws-modules/vpc/aws" {',
    '  versions = ["5.1.0"]',
    '}',
  );
  const both = await parseDefinitions(hcl, { format: 'hcl' });
  t.deepEqual(both.providers.map((p) => p.source), ['registry.terraform.io/hashicorp/null']);
  t.deepEqual(both.modules.map((m) => m.source), ['registry.terraform.io/terraform-aws-modules/vpc/aws']);
  const yaml = lines('providers:', '  - {source: hashicorp/null, versions: ["3.2.1"], platforms: [linux_amd64]}', 'modules:', '  - {source: terraform-aws-modules/vpc/aws, versions: ["5.1.0"]}');
  const fromYaml = await parseDefinitions(yaml, { format: 'yaml' });
  t.deepEqual(fromYaml.modules.map((m) => m.source), ['registry.terraform.io/terraform-aws-modules/vpc/aws']);
  t.is(fromYaml.providers.length, 1);
  const moduleOnly = 'module "terraform-aws-modules/vpc/aws" {\n  versions = ["5.1.0"]\n}\n';
  const auto = await parseDefinitions(moduleOnly, { format: 'auto' });
  t.deepEqual(auto.modules.map((m) => m.source), ['registry.terraform.io/terraform-aws-modules/vpc/aws']);
});

interface Expected {
  line: number;
  column?: number;
  message: RegExp;
}

const cases: { name: string; format: DefinitionFormat; text: string; problems: Expected[] }[] = [
  {
    name: 'YAML: a duplicate module names the first definition line',
    format: 'yaml',
    text: lines('modules:', '  - source: terraform-aws-modules/vpc/aws', '    versions: ["5.0.0"]', '  - source: registry.terraform.io/terraform-aws-modules/vpc/aws', '    versions: ["5.1.0"]'),
    problems: [{ line: 4, column: 13, message: /modules\[1\]: duplicate module registry\.terraform\.io\/terraform-aws-modules\/vpc\/aws \(first defined at line 2\)/ }],
  },
  {
    name: 'YAML: an unknown key (platforms) is named with the allowed keys',
    format: 'yaml',
    text: lines('modules:', '  - source: a/b/c', '    versions: ["1.0.0"]', '    platforms: [linux_amd64]'),
    problems: [{ line: 4, column: 5, message: /modules\[0\]\.platforms: unknown key; allowed keys: source, versions, latest$/ }],
  },
  {
    name: 'YAML: a bad address points at the source',
    format: 'yaml',
    text: lines('modules:', '  - source: terraform-aws-modules/vpc', '    versions: ["1.0.0"]'),
    problems: [{ line: 2, column: 13, message: /modules\[0\]\.source: invalid module source address "terraform-aws-modules\/vpc"/ }],
  },
  {
    name: 'YAML: a bad system segment is named',
    format: 'yaml',
    text: lines('modules:', '  - source: a/b/AWS', '    versions: ["1.0.0"]'),
    problems: [{ line: 2, column: 13, message: /modules\[0\]\.source: in module source address "a\/b\/AWS": invalid module system "AWS"/ }],
  },
  {
    name: 'YAML: a bad constraint points at the element',
    format: 'yaml',
    text: lines('modules:', '  - source: a/b/c', '    versions: ["~> 1.0", ">> 2"]'),
    problems: [{ line: 3, column: 26, message: /modules\[0\]\.versions\[1\]: invalid version constraint ">> 2"/ }],
  },
  {
    name: 'YAML: missing versions and a bad latest are both reported',
    format: 'yaml',
    text: lines('modules:', '  - source: a/b/c', '    latest: 0'),
    problems: [
      { line: 2, column: 5, message: /modules\[0\]: missing required key "versions"/ },
      { line: 3, column: 13, message: /modules\[0\]\.latest: expected an integer from 1 to 100, got number 0/ },
    ],
  },
  {
    name: 'YAML: modules that is not a list',
    format: 'yaml',
    text: 'modules: {source: a/b/c}\n',
    problems: [{ line: 1, column: 10, message: /modules: expected a list of modules, got a mapping/ }],
  },
  {
    name: 'JSON: an unknown top-level key names both lists',
    format: 'json',
    text: '{\n  "module": []\n}\n',
    problems: [
      { line: 1, column: 1, message: /missing required key "providers" \(or "modules"\)/ },
      { line: 2, column: 3, message: /module: unknown key; allowed keys: providers, modules/ },
    ],
  },
  {
    name: 'JSON: a bad address in a module list',
    format: 'json',
    text: '{"modules": [\n  {"source": "a/b/c/d/e", "versions": ["1.0.0"]}\n]}\n',
    problems: [{ line: 2, column: 14, message: /modules\[0\]\.source: invalid module source address "a\/b\/c\/d\/e"/ }],
  },
  {
    name: 'HCL: a duplicate module block',
    format: 'hcl',
    text: lines('module "a/b/c" {', '  versions = ["1.0.0"]', '}', 'module "registry.terraform.io/a/b/c" {', '  versions = ["2.0.0"]', '}'),
    problems: [{ line: 4, column: 8, message: /module "registry\.terraform\.io\/a\/b\/c": duplicate module registry\.terraform\.io\/a\/b\/c \(first defined at line 1\)/ }],
  },
  {
    name: 'HCL: an unknown key in a module block',
    format: 'hcl',
    text: lines('module "a/b/c" {', '  versions  = ["1.0.0"]', '  platforms = ["linux_amd64"]', '}'),
    problems: [{ line: 3, column: 3, message: /module "a\/b\/c"\.platforms: unknown key; allowed keys: versions, latest$/ }],
  },
  {
    name: 'HCL: a Terraform-style module call is told that the label is the source',
    format: 'hcl',
    text: lines('module "vpc" {', '  source   = "terraform-aws-modules/vpc/aws"', '  versions = ["1.0.0"]', '}'),
    problems: [
      { line: 1, column: 8, message: /module "vpc": invalid module source address "vpc"/ },
      { line: 2, column: 3, message: /module "vpc"\.source: unknown key; the block label is the module's source address/ },
    ],
  },
  {
    name: 'HCL: a bad constraint points at the element',
    format: 'hcl',
    text: lines('module "a/b/c" {', '  versions = ["1.0.0", "~> banana"]', '}'),
    problems: [{ line: 2, column: 24, message: /module "a\/b\/c"\.versions\[1\]: invalid version constraint "~> banana"/ }],
  },
  {
    name: 'HCL: a module block with two labels',
    format: 'hcl',
    text: 'module "a/b/c" "d" {\n}\n',
    problems: [{ line: 1, column: 1, message: /module "a\/b\/c": a module block takes exactly one label, its source address/ }],
  },
];

for (const c of cases) {
  test(c.name, async (t) => {
    const file = `defs.${c.format}`;
    const err = await parseError(t, c.text, c.format, file);
    const got = err.message.split('\n');
    t.is(got.length, c.problems.length, err.message);
    c.problems.forEach((p, n) => {
      const where = p.column === undefined ? `${p.line}` : `${p.line}:${p.column}`;
      t.true(got[n]!.startsWith(`${file}:${where}: `), `problem ${n}: ${got[n]}`);
      t.regex(got[n]!, p.message);
    });
  });
}

test('a lock file with module blocks is refused: it pins providers only', async (t) => {
  const text = lines('module "a/b/c" {', '  versions = ["1.0.0"]', '}');
  const err = await t.throwsAsync(parseDefinitions(text, { format: 'hcl', file: '.terraform.lock.hcl', platforms: [{ os: 'linux', arch: 'amd64' }] }));
  t.regex(err!.message, /^\.terraform\.lock\.hcl:1:1: module "a\/b\/c": a lock file pins providers only/);
});

test(`more than ${MAX_MODULES} modules in one document is refused by line before the HCL parser runs`, async (t) => {
  const block = (n: number) => `module "ns/m${n}/aws" {\n  versions = ["1.0.0"]\n}\n`;
  const text = Array.from({ length: MAX_MODULES + 1 }, (_, n) => block(n)).join('');
  const started = performance.now();
  const err = await t.throwsAsync(parseDefinitions(text, { format: 'hcl', file: 'many.hcl' }), { instanceOf: LimitExceeded });
  t.regex(err!.message, new RegExp(`^many\\.hcl:${MAX_MODULES * 3 + 1}: more than ${MAX_MODULES} modules in one document$`));
  t.true(performance.now() - started < 1000, 'refused on the scan');
  const yaml = `modules:\n${Array.from({ length: MAX_MODULES + 1 }, (_, n) => `  - {source: ns/m${n}/aws, versions: ["1.0.0"]}\n`).join('')}`;
  await t.throwsAsync(parseDefinitions(yaml, { format: 'yaml' }), { instanceOf: LimitExceeded, message: /more than 1000 modules/ });
  const exactly = await parseDefinitions(Array.from({ length: MAX_MODULES }, (_, n) => block(n)).join(''), { format: 'hcl' });
  t.is(exactly.modules.length, MAX_MODULES);
});
