import test from 'ava';
import type { DefinitionFormat } from '../../../server/src/providers/definitions/index.js';
import { lines, parseError } from './helpers.js';

interface Expected {
  line: number;
  /** Always given for YAML and JSON; for HCL only where the scan finds it. */
  column?: number;
  message: RegExp;
}

interface ErrorCase {
  name: string;
  format: DefinitionFormat;
  text: string;
  /** Every problem the document has, in report order. */
  problems: Expected[];
}

const AWS_YAML = '  - source: hashicorp/aws\n    versions: ["5.31.0"]\n    platforms: [linux_amd64]\n';

const cases: ErrorCase[] = [
  // YAML
  {
    name: 'YAML: an unknown key is named with the allowed keys',
    format: 'yaml',
    text: `providers:\n${AWS_YAML}    platfroms: [linux_amd64]\n`,
    problems: [{ line: 5, column: 5, message: /providers\[0\]\.platfroms: unknown key; allowed keys: source, versions, latest, platforms/ }],
  },
  {
    name: 'YAML: an unknown top-level key is named',
    format: 'yaml',
    text: `provider:\n${AWS_YAML}`,
    problems: [
      { line: 1, column: 1, message: /provider: unknown key; allowed keys: providers/ },
      { line: 1, column: 1, message: /missing required key "providers"/ },
    ],
  },
  {
    name: 'YAML: a bad source address',
    format: 'yaml',
    text: 'providers:\n  - source: hashicorp/aws/extra/x\n    versions: ["5.31.0"]\n    platforms: [linux_amd64]\n',
    problems: [{ line: 2, column: 13, message: /providers\[0\]\.source: invalid provider source address "hashicorp\/aws\/extra\/x"/ }],
  },
  {
    name: 'YAML: a bad platform points at the element',
    format: 'yaml',
    text: 'providers:\n  - source: a/b\n    versions: ["1.0.0"]\n    platforms: [linux_amd64, plan9_amd64]\n',
    problems: [{ line: 4, column: 30, message: /providers\[0\]\.platforms\[1\]: unknown operating system "plan9"/ }],
  },
  {
    name: 'YAML: a bad version constraint points at the element',
    format: 'yaml',
    text: 'providers:\n  - source: a/b\n    versions:\n      - "~> 1.2"\n      - ">> 2"\n    platforms: [linux_amd64]\n',
    problems: [{ line: 5, column: 9, message: /providers\[0\]\.versions\[1\]: invalid version constraint ">> 2"/ }],
  },
  {
    name: 'YAML: a duplicate provider names the first definition line',
    format: 'yaml',
    text: `providers:\n${AWS_YAML}  - source: registry.terraform.io/HashiCorp/AWS\n    versions: ["5.32.0"]\n    platforms: [linux_amd64]\n`,
    problems: [
      {
        line: 5,
        column: 13,
        message: /providers\[1\]: duplicate provider registry\.terraform\.io\/hashicorp\/aws \(first defined at line 2\)/,
      },
    ],
  },
  {
    name: 'YAML: wrong types name the key, what was expected and what was given',
    format: 'yaml',
    text: 'providers:\n  - source: a/b\n    versions: "1.0.0"\n    latest: "3"\n    platforms: [linux_amd64, 1.10]\n',
    problems: [
      { line: 3, column: 15, message: /providers\[0\]\.versions: expected a list of versions or version constraints, got string "1\.0\.0"/ },
      { line: 4, column: 13, message: /providers\[0\]\.latest: expected an integer from 1 to 100, got string "3"/ },
      { line: 5, column: 30, message: /providers\[0\]\.platforms\[1\]: expected a string, got number 1\.10; quote it/ },
    ],
  },
  {
    name: 'YAML: a missing key, an empty list, a duplicate platform and latest out of range',
    format: 'yaml',
    text: lines(
      'providers:',
      '  - source: a/b',
      '    versions: []',
      '    latest: 101',
      '  - source: a/c',
      '    versions: ["1.0.0"]',
      '    platforms: [linux_amd64, linux_amd64]',
    ),
    problems: [
      { line: 2, column: 5, message: /providers\[0\]: missing required key "platforms"/ },
      { line: 3, column: 15, message: /providers\[0\]\.versions: expected at least one .*got an empty list/ },
      { line: 4, column: 13, message: /providers\[0\]\.latest: expected an integer from 1 to 100, got number 101/ },
      { line: 7, column: 30, message: /providers\[1\]\.platforms\[1\]: duplicate platform linux_amd64 \(first listed at line 7\)/ },
    ],
  },
  {
    name: 'YAML: a syntax error carries its position',
    format: 'yaml',
    text: 'providers:\n  - source: a/b\n    versions: ["1.0.0"\n    platforms: [linux_amd64]\n',
    problems: [{ line: 4, column: 5, message: /YAML syntax error: / }],
  },
  {
    name: 'YAML: a duplicate key is a syntax error',
    format: 'yaml',
    text: 'providers:\n  - source: a/b\n    source: a/c\n    versions: ["1.0.0"]\n    platforms: [linux_amd64]\n',
    problems: [{ line: 3, column: 5, message: /YAML syntax error: Map keys must be unique/ }],
  },
  // JSON
  {
    name: 'JSON: an unknown key is named with the allowed keys',
    format: 'json',
    text: lines(
      '{',
      '  "providers": [',
      '    {',
      '      "source": "a/b",',
      '      "versions": ["1.0.0"],',
      '      "platforms": ["linux_amd64"],',
      '      "lates": 3',
      '    }',
      '  ]',
      '}',
    ),
    problems: [{ line: 7, column: 7, message: /providers\[0\]\.lates: unknown key; allowed keys: source, versions, latest, platforms/ }],
  },
  {
    name: 'JSON: a bad source, platform and constraint point at their values',
    format: 'json',
    text: '{"providers": [\n  {"source": "-a/b", "versions": ["~>"], "platforms": ["linux_amd64", "linux_arm46"]}\n]}\n',
    problems: [
      { line: 2, column: 14, message: /providers\[0\]\.source: in provider source address "-a\/b": invalid provider namespace "-a"/ },
      { line: 2, column: 35, message: /providers\[0\]\.versions\[0\]: invalid version constraint "~>": operator "~>" has no version after it/ },
      { line: 2, column: 71, message: /providers\[0\]\.platforms\[1\]: unknown architecture "arm46"/ },
    ],
  },
  {
    name: 'JSON: a duplicate provider names the first definition line',
    format: 'json',
    text: lines(
      '{"providers": [',
      '  {"source": "a/b", "versions": ["1.0.0"], "platforms": ["linux_amd64"]},',
      '  {"source": "registry.terraform.io/a/b", "versions": ["2.0.0"], "platforms": ["linux_amd64"]}',
      ']}',
    ),
    problems: [{ line: 3, column: 14, message: /providers\[1\]: duplicate provider registry\.terraform\.io\/a\/b \(first defined at line 2\)/ }],
  },
  {
    name: 'JSON: wrong types name the key, what was expected and what was given',
    format: 'json',
    text: '{"providers": [\n  {"source": 42, "versions": [1.5], "latest": 2.5, "platforms": {"linux": "amd64"}}\n]}\n',
    problems: [
      { line: 2, column: 14, message: /providers\[0\]\.source: expected a provider source address .*, got number 42; quote it/ },
      { line: 2, column: 31, message: /providers\[0\]\.versions\[0\]: expected a string, got number 1\.5/ },
      { line: 2, column: 47, message: /providers\[0\]\.latest: expected an integer from 1 to 100, got number 2\.5/ },
      { line: 2, column: 65, message: /providers\[0\]\.platforms: expected a list of platforms .*, got a mapping/ },
    ],
  },
  {
    name: 'JSON: providers must be a list inside an object',
    format: 'json',
    text: '{\n  "providers": {"source": "a/b"}\n}\n',
    problems: [{ line: 2, column: 16, message: /providers: expected a list of providers, got a mapping/ }],
  },
  {
    name: 'JSON: a trailing comma is a syntax error at its position',
    format: 'json',
    text: '{\n  "providers": [\n    {"source": "a/b",}\n  ]\n}\n',
    problems: [{ line: 3, column: 22, message: /JSON syntax error: trailing comma before \}/ }],
  },
  {
    name: 'JSON: a bad token is a syntax error at its position',
    format: 'json',
    text: '{"providers": [\n  {"source": tru}\n]}\n',
    problems: [{ line: 2, column: 14, message: /JSON syntax error: expected a value/ }],
  },
  {
    name: 'JSON: a missing comma is a syntax error at its position',
    format: 'json',
    text: '{"providers": [\n  {"source": "a/b"\n   "versions": []}\n]}\n',
    problems: [{ line: 3, column: 4, message: /JSON syntax error: expected ',' or '}' after a property value/ }],
  },
  {
    name: 'JSON: an unterminated string is a syntax error at its start',
    format: 'json',
    text: '{"providers": [\n  {"source": "a/b}]}',
    problems: [{ line: 2, column: 14, message: /JSON syntax error: unterminated string/ }],
  },
  {
    name: 'JSON: a duplicate key is an error',
    format: 'json',
    text: '{"providers": [],\n "providers": []}',
    problems: [{ line: 2, column: 2, message: /providers: duplicate key/ }],
  },
  {
    name: 'JSON: an empty document is a syntax error',
    format: 'json',
    text: '  ',
    problems: [{ line: 1, column: 3, message: /JSON syntax error: expected a value, got the end of the input/ }],
  },
  // HCL
  {
    name: 'HCL: an unknown key is named with the allowed keys',
    format: 'hcl',
    text: 'provider "a/b" {\n  versions = ["1.0.0"]\n  platforms = ["linux_amd64"]\n  source = "a/b"\n}\n',
    problems: [{ line: 4, column: 3, message: /provider "a\/b"\.source: unknown key; allowed keys: versions, latest, platforms/ }],
  },
  {
    name: 'HCL: an unknown top-level block is named',
    format: 'hcl',
    text: 'providers "a/b" {\n}\n',
    problems: [{ line: 1, column: 1, message: /providers: unknown block or attribute; only provider "hashicorp\/aws"/ }],
  },
  {
    name: 'HCL: a bad source label',
    format: 'hcl',
    text: '\nprovider "hashicorp" {\n  versions = ["1.0.0"]\n  platforms = ["linux_amd64"]\n}\n',
    problems: [{ line: 2, column: 10, message: /provider "hashicorp": invalid provider source address "hashicorp"/ }],
  },
  {
    name: 'HCL: a bad platform and a bad constraint point at their elements',
    format: 'hcl',
    text: 'provider "a/b" {\n  versions = [\n    "1.0.0",\n    "^1.2",\n  ]\n  platforms = ["linux_amd64", "windows_arm46"]\n}\n',
    problems: [
      { line: 4, column: 5, message: /provider "a\/b"\.versions\[1\]: invalid version constraint "\^1\.2"/ },
      { line: 6, column: 31, message: /provider "a\/b"\.platforms\[1\]: unknown architecture "arm46"/ },
    ],
  },
  {
    name: 'HCL: a duplicate provider names the first definition line',
    format: 'hcl',
    text: lines(
      'provider "a/b" {',
      '  versions = ["1.0.0"]',
      '  platforms = ["linux_amd64"]',
      '}',
      '',
      'provider "registry.terraform.io/A/B" {',
      '  versions = ["2.0.0"]',
      '  platforms = ["linux_amd64"]',
      '}',
    ),
    problems: [{ line: 6, column: 10, message: /duplicate provider registry\.terraform\.io\/a\/b \(first defined at line 1\)/ }],
  },
  {
    name: 'HCL: the same label twice is a duplicate provider',
    format: 'hcl',
    text: lines(
      'provider "a/b" {',
      '  versions = ["1.0.0"]',
      '  platforms = ["linux_amd64"]',
      '}',
      'provider "a/b" {',
      '  versions = ["2.0.0"]',
      '  platforms = ["linux_amd64"]',
      '}',
    ),
    problems: [{ line: 5, column: 10, message: /duplicate provider registry\.terraform\.io\/a\/b \(first defined at line 1\)/ }],
  },
  {
    name: 'HCL: wrong types and expressions name the key, what was expected and what was given',
    format: 'hcl',
    text: 'provider "a/b" {\n  versions  = "1.0.0"\n  latest    = "3"\n  platforms = [linux_amd64]\n}\n',
    problems: [
      { line: 2, column: 15, message: /provider "a\/b"\.versions: expected a list of versions or version constraints, got string "1\.0\.0"/ },
      { line: 3, column: 15, message: /provider "a\/b"\.latest: expected an integer from 1 to 100, got string "3"/ },
      {
        line: 4,
        column: 16,
        message: /provider "a\/b"\.platforms\[0\]: expected a string, got the expression linux_amd64; write a literal/,
      },
    ],
  },
  {
    name: 'HCL: a missing key points at the block',
    format: 'hcl',
    text: '# header\nprovider "a/b" {\n  versions = ["1.0.0"]\n}\n',
    problems: [{ line: 2, column: 1, message: /provider "a\/b": missing required key "platforms"/ }],
  },
  {
    name: 'HCL: a syntax error carries its position',
    format: 'hcl',
    text: 'provider "a/b" {\n  versions = ["1.0.0" "2.0.0"]\n}\n',
    problems: [{ line: 2, column: 23, message: /HCL syntax error: Missing item separator/ }],
  },
  {
    name: 'HCL: an attribute set twice is reported at the second, naming the first line',
    format: 'hcl',
    text: 'provider "a/b" {\n  latest = 1\n  latest = 2\n}\n',
    problems: [{ line: 3, column: 3, message: /HCL syntax error: Attribute redefined: .*already set at line 2\./ }],
  },
  {
    name: 'HCL: a provider block without a label is reported at the block',
    format: 'hcl',
    text: 'provider "a/b" {\n  versions = ["1.0.0"]\n  platforms = ["linux_amd64"]\n}\n\nprovider {\n}\n',
    problems: [{ line: 6, column: 1, message: /provider: a provider block takes exactly one label, its source address/ }],
  },
  {
    name: 'HCL: a provider block with two labels is reported at the block',
    format: 'hcl',
    text: 'provider "a/b" "c" {\n}\n',
    problems: [{ line: 1, column: 1, message: /provider "a\/b": a provider block takes exactly one label/ }],
  },
];

for (const c of cases) {
  test(c.name, async (t) => {
    const file = `defs.${c.format}`;
    const err = await parseError(t, c.text, c.format, file);
    const lines = err.message.split('\n');
    t.is(lines.length, c.problems.length, err.message);
    c.problems.forEach((p, n) => {
      const where = p.column === undefined ? `${p.line}` : `${p.line}:${p.column}`;
      t.true(lines[n]!.startsWith(`${file}:${where}: `), `problem ${n}: ${lines[n]}`);
      t.regex(lines[n]!, p.message);
    });
    const first = c.problems[0]!;
    t.like(err.details, { file, line: first.line, column: first.column });
  });
}

test('every problem of a document is reported, in document order, and nothing is returned', async (t) => {
  const text = lines(
    'providers:',
    '  - source: a/b',
    '    versions: ["1.0.0"]',
    '    platforms: [linux_amd64]',
    '  - source: c/d',
    '    versions: ["nope"]',
    '    platforms: [linux_amd64]',
    '  - source: e',
    '    versions: ["1.0.0"]',
    '    platforms: [linux_amd64]',
  );
  const err = await parseError(t, text, 'yaml');
  t.deepEqual(
    err.message.split('\n').map((l) => l.split(': ')[0]),
    ['defs.yaml:6:16', 'defs.yaml:8:13'],
  );
});

test('the file name given is used in messages and details', async (t) => {
  const err = await parseError(t, 'providers: 3\n', 'yaml', 'config/mirror.yaml');
  t.regex(err.message, /^config\/mirror\.yaml:1:12: providers: expected a list of providers, got number 3$/);
  t.like(err.details, { file: 'config/mirror.yaml', line: 1, column: 12, key: 'providers' });
});
