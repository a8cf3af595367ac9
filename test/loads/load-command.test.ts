import anyTest, { type TestFn } from 'ava';
import type { FakeRegistryProvider } from '../fixtures/fake-registry.js';
import { loadSetup, type LoadSetup } from '../fixtures/load-setup.js';
import { runCli } from '../fixtures/tfmirror.js';

const test = anyTest as TestFn<{ s: LoadSetup }>;

const upstream: FakeRegistryProvider[] = [
  { namespace: 'hashicorp', type: 'null', versions: { '3.0.0': ['linux_amd64'], '3.1.0': ['linux_amd64', 'darwin_arm64'], '3.2.0': ['linux_amd64', 'darwin_arm64'], '4.0.0': ['linux_amd64', 'darwin_arm64'] } },
  { namespace: 'acme', type: 'tool', versions: { '1.0.0': ['linux_amd64'] } },
];
const definitions = `providers:
  - source: hashicorp/null
    versions: ["~> 3.1"]
    platforms: [linux_amd64, darwin_arm64]
`;

test.beforeEach(async (t) => {
  t.context.s = await loadSetup(upstream);
});
test.afterEach.always(async (t) => t.context.s?.close());

test.serial('--dry-run prints the resolved versions x platforms and downloads nothing', async (t) => {
  const { s } = t.context;
  const res = await runCli(['load', '--dry-run', s.writeDefinitions('defs.yaml', definitions)], s.env);
  t.is(res.code, 0, res.stderr);
  const planned = res.stdout.split('\n').filter((l) => l.startsWith('plan'));
  t.deepEqual(planned.map((l) => l.replace(/\s+/g, ' ')), [
    'plan registry.terraform.io/hashicorp/null 3.2.0 linux_amd64',
    'plan registry.terraform.io/hashicorp/null 3.2.0 darwin_arm64',
    'plan registry.terraform.io/hashicorp/null 3.1.0 linux_amd64',
    'plan registry.terraform.io/hashicorp/null 3.1.0 darwin_arm64',
  ]);
  t.is(s.registry.requests(/\.zip$/), 0);
  t.deepEqual(s.packages(), []);
});

test.serial('load mirrors exactly the matching versions x platforms, verified; a second load fetches nothing', async (t) => {
  const { s } = t.context;
  const file = s.writeDefinitions('defs.hcl', `provider "hashicorp/null" {\n  versions  = ["~> 3.1"]\n  latest    = 1\n  platforms = ["linux_amd64", "darwin_arm64"]\n}\nprovider "acme/tool" {\n  versions  = ["1.0.0"]\n  platforms = ["linux_amd64"]\n}\n`);
  const res = await runCli(['load', file], s.env);
  t.is(res.code, 0, res.stdout + res.stderr);
  t.regex(res.stdout, /succeeded: 3 loaded, 0 already held, 0 failed/);
  const rows = s.packages();
  t.deepEqual(rows.map((r) => r.filename), [
    'terraform-provider-null_3.2.0_darwin_arm64.zip',
    'terraform-provider-null_3.2.0_linux_amd64.zip',
    'terraform-provider-tool_1.0.0_linux_amd64.zip',
  ]);
  for (const row of rows) {
    const [, type, version, platform] = /terraform-provider-(\w+)_([\d.]+)_(\w+)\.zip/.exec(row.filename)!;
    const pkg = s.registry.release(type === 'null' ? 'hashicorp' : 'acme', type!, version!).packages.get(platform!)!;
    t.is(row.sha256, pkg.sha256);
    t.is(row.h1, pkg.h1 ?? "(fixture h1 missing)");
  }

  s.registry.resetCounters();
  const again = await runCli(['load', file], s.env);
  t.is(again.code, 0);
  t.regex(again.stdout, /0 loaded, 3 already held, 0 failed/);
  t.is(s.registry.requests(/\.zip$/), 0, 'held packages are not fetched again');
});

test.serial('definition errors name file, line and column and load nothing', async (t) => {
  const { s } = t.context;
  const file = s.writeDefinitions('bad.yaml', `providers:\n  - source: hashicorp/null\n    versions: ["~> 3.1"]\n    platforms: [linux_amd64, plan9_amd64]\n`);
  const res = await runCli(['load', file], s.env);
  t.is(res.code, 2);
  t.regex(res.stderr, /bad\.yaml:4:30: .*unknown operating system "plan9"/);
  t.is(s.registry.requests(), 0);
});

test.serial('what cannot be planned is reported and makes the exit non-zero', async (t) => {
  const { s } = t.context;
  const file = s.writeDefinitions('defs.yaml', `providers:\n  - source: hashicorp/null\n    versions: ["~> 9.0", "3.0.0"]\n    platforms: [linux_amd64, darwin_arm64]\n`);
  const res = await runCli(['load', file], s.env);
  t.is(res.code, 1);
  t.regex(res.stdout, /no upstream version matches "~> 9.0"/);
  t.regex(res.stdout, /3\.0\.0: platform darwin_arm64 is not offered upstream/);
  t.regex(res.stdout, /1 loaded/);
});
