import fs from 'node:fs';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { InvalidInput } from '../../server/src/errors.js';
import { parseRequiredProviders } from '../../server/src/providers/definitions/required-providers.js';
import { parsePlatform } from '../../server/src/providers/platform.js';
import type { FakeRegistryProvider } from '../fixtures/fake-registry.js';
import { loadSetup, type LoadSetup } from '../fixtures/load-setup.js';
import { runCli } from '../fixtures/tfmirror.js';

const test = anyTest as TestFn<{ s: LoadSetup }>;

const upstream: FakeRegistryProvider[] = [
  { namespace: 'hashicorp', type: 'null', versions: { '3.1.0': ['linux_amd64'], '3.2.0': ['linux_amd64'], '4.0.0': ['linux_amd64'] } },
  { namespace: 'hashicorp', type: 'random', versions: { '3.5.0': ['linux_amd64'], '3.6.0': ['linux_amd64'] } },
  { namespace: 'acme', type: 'tool', versions: { '1.0.0': ['linux_amd64'], '1.1.0': ['linux_amd64'] } },
];
const linux = [parsePlatform('linux_amd64')];

test.beforeEach(async (t) => {
  t.context.s = await loadSetup(upstream);
});
test.afterEach.always(async (t) => t.context.s?.close());

function writeConfig(s: LoadSetup, files: Record<string, string>): string {
  const dir = path.join(s.dir, 'config');
  fs.mkdirSync(path.join(dir, 'modules', 'child'), { recursive: true });
  // Not read: only the root module's files count, as for terraform init in DIR.
  fs.writeFileSync(path.join(dir, 'modules', 'child', 'main.tf'), 'terraform {\n  required_providers {\n    tool = { source = "acme/tool", version = "1.1.0" }\n  }\n}\n');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

test.serial('tfmirror load DIR mirrors the newest match of each required_providers constraint for the named platforms', async (t) => {
  const { s } = t.context;
  const dir = writeConfig(s, {
    'versions.tf': `terraform {
  required_version = ">= 1.5"
  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "~> 3.1"
    }
    random = {
      version = "< 3.6.0"
    }
  }
}

resource "null_resource" "x" {
  triggers = { at = timestamp() }
}
`,
    'tool.tf.json': JSON.stringify({ terraform: { required_providers: { tool: { source: 'acme/tool', version: '1.0.0' } } } }),
    'README.md': 'not configuration',
  });
  const res = await runCli(['load', '--dry-run', dir, '--platform', 'linux_amd64'], s.env);
  t.is(res.code, 0, res.stdout + res.stderr);
  t.deepEqual(
    res.stdout.split('\n').filter((l) => l.startsWith('plan')).map((l) => l.replace(/\s+/g, ' ')).sort(),
    [
      'plan registry.terraform.io/acme/tool 1.0.0 linux_amd64',
      'plan registry.terraform.io/hashicorp/null 3.2.0 linux_amd64',
      'plan registry.terraform.io/hashicorp/random 3.5.0 linux_amd64',
    ],
  );
  const loaded = await runCli(['load', dir, '--platform', 'linux_amd64'], s.env);
  t.is(loaded.code, 0, loaded.stdout + loaded.stderr);
  t.regex(loaded.stdout, /3 loaded, 0 already held, 0 failed/);
});

test.serial('a configuration directory without --platform, or without any .tf file, is refused naming the directory', async (t) => {
  const { s } = t.context;
  const dir = writeConfig(s, { 'main.tf': 'terraform {\n  required_providers {\n    null = { source = "hashicorp/null" }\n  }\n}\n' });
  const noPlatform = await runCli(['load', dir], s.env);
  t.is(noPlatform.code, 2);
  t.regex(noPlatform.stderr, /names no platforms to mirror: add --platform linux_amd64/);
  const empty = path.join(s.dir, 'empty');
  fs.mkdirSync(empty);
  const none = await runCli(['load', empty, '--platform', 'linux_amd64'], s.env);
  t.is(none.code, 2);
  t.regex(none.stderr, /no \*\.tf or \*\.tf\.json files: not a Terraform configuration directory/);
  t.is(s.registry.requests(), 0);
});

test('constraints on one provider from several blocks are combined; no version means the newest; the builtin terraform provider is skipped', async (t) => {
  const defs = await parseRequiredProviders(
    [
      { name: 'a.tf', text: 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = ">= 5.0" }\n    terraform = { source = "terraform.io/builtin/terraform" }\n  }\n}\n' },
      { name: 'b.tf', text: 'terraform {\n  required_providers {\n    aws = "< 5.40"\n    tls = {}\n  }\n}\n' },
    ],
    linux,
    'cfg',
  );
  t.deepEqual(
    defs.map((d) => [d.source, d.versions.map((v) => v.text), d.latest]),
    [
      ['registry.terraform.io/hashicorp/aws', ['>= 5.0, < 5.40'], 1],
      ['registry.terraform.io/hashicorp/tls', ['>= 0.0.0'], 1],
    ],
  );
});

test('a bad constraint names the file, line and provider', async (t) => {
  const err = await t.throwsAsync(
    parseRequiredProviders([{ name: 'cfg/versions.tf', text: 'terraform {\n  required_providers {\n    aws = {\n      version = "~> banana"\n    }\n  }\n}\n' }], linux, 'cfg'),
    { instanceOf: InvalidInput },
  );
  t.regex(err!.message, /^cfg\/versions\.tf:3: required_providers\.aws\.version: /);
});
