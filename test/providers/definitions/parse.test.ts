import test from 'ava';
import { parseDefinitions, selectVersions } from '../../../server/src/providers/definitions/index.js';
import { lines, withoutPositions } from './helpers.js';

const hcl = `# Mirrored providers
provider "registry.terraform.io/hashicorp/aws" {
  versions  = ["5.31.0", "~> 5.40"]
  latest    = 3
  platforms = ["linux_amd64", "darwin_arm64"]
}

provider "HashiCorp/Random" {
  versions = [">= 3.5, != 3.6.1"]
  platforms = [
    "linux_amd64",
  ]
}
`;

const yaml = `# Mirrored providers
providers:
  - source: registry.terraform.io/hashicorp/aws
    versions: ["5.31.0", "~> 5.40"]
    latest: 3
    platforms: [linux_amd64, darwin_arm64]
  - source: HashiCorp/Random
    versions:
      - ">= 3.5, != 3.6.1"
    platforms:
      - linux_amd64
`;

const json = JSON.stringify(
  {
    providers: [
      {
        source: 'registry.terraform.io/hashicorp/aws',
        versions: ['5.31.0', '~> 5.40'],
        latest: 3,
        platforms: ['linux_amd64', 'darwin_arm64'],
      },
      { source: 'HashiCorp/Random', versions: ['>= 3.5, != 3.6.1'], platforms: ['linux_amd64'] },
    ],
  },
  null,
  2,
);

test('the same definitions in HCL, YAML and JSON parse to equal results', async (t) => {
  const fromHcl = (await parseDefinitions(hcl, { format: 'hcl' })).providers;
  const fromYaml = (await parseDefinitions(yaml, { format: 'yaml' })).providers;
  const fromJson = (await parseDefinitions(json, { format: 'json' })).providers;
  t.deepEqual(withoutPositions(fromYaml), withoutPositions(fromHcl));
  t.deepEqual(withoutPositions(fromJson), withoutPositions(fromHcl));
});

test('a definition carries the normalized address, selectors, latest and platforms', async (t) => {
  const [aws, random] = (await parseDefinitions(yaml, { format: 'yaml' })).providers;
  t.deepEqual(aws?.address, { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'aws' });
  t.is(aws?.source, 'registry.terraform.io/hashicorp/aws');
  t.is(aws?.latest, 3);
  t.deepEqual(aws?.platforms, [
    { os: 'linux', arch: 'amd64' },
    { os: 'darwin', arch: 'arm64' },
  ]);
  t.deepEqual(aws?.versions[0], { text: '5.31.0', exact: '5.31.0' });
  t.is(aws?.versions[1]?.text, '~> 5.40');
  t.is(aws?.versions[1]?.constraint?.terms[0]?.op, '~>');
  t.is(random?.source, 'registry.terraform.io/hashicorp/random', 'hostname defaults, case is folded');
  t.is(random?.latest, undefined);
});

test('definitions keep document order and their starting positions', async (t) => {
  const fromHcl = (await parseDefinitions(hcl, { format: 'hcl' })).providers;
  t.deepEqual(
    fromHcl.map((d) => d.position),
    [
      { line: 2, column: 1 },
      { line: 8, column: 1 },
    ],
  );
  const fromYaml = (await parseDefinitions(yaml, { format: 'yaml' })).providers;
  t.deepEqual(
    fromYaml.map((d) => d.position),
    [
      { line: 3, column: 5 },
      { line: 7, column: 5 },
    ],
  );
});

test('HCL definitions come out in source order even when labels sort otherwise', async (t) => {
  const text = lines(
    'provider "z/zed" {',
    '  versions = ["1.0.0"]',
    '  platforms = ["linux_amd64"]',
    '}',
    'provider "a/alpha" {',
    '  versions = ["1.0.0"]',
    '  platforms = ["linux_amd64"]',
    '}',
  );
  const defs = (await parseDefinitions(text, { format: 'hcl' })).providers;
  t.deepEqual(
    defs.map((d) => d.source),
    ['registry.terraform.io/z/zed', 'registry.terraform.io/a/alpha'],
  );
});

test('auto format detects each format from the text', async (t) => {
  const expected = withoutPositions((await parseDefinitions(hcl, { format: 'hcl' })).providers);
  for (const text of [hcl, yaml, json]) {
    t.deepEqual(withoutPositions((await parseDefinitions(text, { format: 'auto' })).providers), expected);
  }
});

test('auto format prefers the file extension', async (t) => {
  const defs = (await parseDefinitions('providers: []\n', { format: 'auto', file: 'mirror.yml' })).providers;
  t.deepEqual(defs, []);
});

test('empty documents define no providers', async (t) => {
  t.deepEqual(await parseDefinitions('', { format: 'hcl' }), { providers: [], modules: [] });
  t.deepEqual(await parseDefinitions('# nothing yet\n', { format: 'yaml' }), { providers: [], modules: [] });
  t.deepEqual(await parseDefinitions('{"providers": []}', { format: 'json' }), { providers: [], modules: [] });
});

test('latest next to exact versions only is allowed and has no effect', async (t) => {
  const text = 'providers:\n  - source: a/b\n    versions: ["1.0.0", "1.1.0"]\n    latest: 1\n    platforms: [linux_amd64]\n';
  const [def] = (await parseDefinitions(text, { format: 'yaml' })).providers;
  t.deepEqual(selectVersions(def!, ['1.0.0', '1.1.0', '1.2.0']), ['1.1.0', '1.0.0']);
});

test('latest applies per constraint; exact versions are always kept', async (t) => {
  const text = `provider "a/b" {
  versions  = ["3.0.0", "~> 4.0", "~> 5.0"]
  latest    = 2
  platforms = ["linux_amd64"]
}
`;
  const [def] = (await parseDefinitions(text, { format: 'hcl' })).providers;
  const available = ['3.0.0', '4.0.0', '4.1.0', '4.2.0', '5.0.0', '5.1.0', '5.2.0', '5.3.0-rc1'];
  t.deepEqual(selectVersions(def!, available), ['5.2.0', '5.1.0', '4.2.0', '4.1.0', '3.0.0']);
});

test('YAML anchors and aliases can share a platform list', async (t) => {
  const text = `providers:
  - source: a/b
    versions: ["1.0.0"]
    platforms: &common [linux_amd64, darwin_arm64]
  - source: a/c
    versions: ["2.0.0"]
    platforms: *common
`;
  const defs = (await parseDefinitions(text, { format: 'yaml' })).providers;
  t.deepEqual(defs[1]?.platforms, defs[0]?.platforms);
});

test('latest = null in HCL and latest: null in YAML mean unset', async (t) => {
  const fromHcl = (await parseDefinitions('provider "a/b" {\n  versions = ["~> 1.0"]\n  latest = null\n  platforms = ["linux_amd64"]\n}\n', {
    format: 'hcl',
  })).providers;
  const fromYaml = (await parseDefinitions('providers:\n  - {source: a/b, versions: ["~> 1.0"], latest: ~, platforms: [linux_amd64]}\n', {
    format: 'yaml',
  })).providers;
  t.is(fromHcl[0]?.latest, undefined);
  t.is(fromYaml[0]?.latest, undefined);
});

test('a byte-order mark and CRLF line endings are accepted in every format', async (t) => {
  const expected = withoutPositions((await parseDefinitions(hcl, { format: 'hcl' })).providers);
  for (const [text, format] of [
    [hcl, 'hcl'],
    [yaml, 'yaml'],
    [json, 'json'],
  ] as const) {
    const windows = `\uFEFF${text.replace(/\n/g, '\r\n')}`;
    t.deepEqual(withoutPositions((await parseDefinitions(windows, { format })).providers), expected, format);
  }
});

test('CRLF line endings keep HCL positions right', async (t) => {
  const text = 'provider "a/b" {\r\n  versions = ["1.0.0"]\r\n  platforms = ["linux_amd46"]\r\n}\r\n';
  const err = await t.throwsAsync(() => parseDefinitions(text, { format: 'hcl', file: 'f.hcl' }));
  t.regex(err.message, /^f\.hcl:3:16: /);
});
