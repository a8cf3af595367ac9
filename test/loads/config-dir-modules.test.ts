import fs from 'node:fs';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { InvalidInput } from '../../server/src/errors.js';
import { parseConfiguration } from '../../server/src/providers/definitions/module-calls.js';
import { parsePlatform } from '../../server/src/providers/platform.js';
import { moduleRecords, startModulePeers, type ModulePeers } from '../admin/jobs/module-peers.js';
import { runCli } from '../fixtures/tfmirror.js';

const test = anyTest as TestFn<{ peers: ModulePeers }>;
const linux = [parsePlatform('linux_amd64')];

test.before(async (t) => {
  t.context = { peers: await startModulePeers(['1.0.0', '1.1.0', '1.2.0']) };
});
test.after.always(async (t) => t.context.peers?.close());

const MAIN_TF = `terraform {
  required_providers {
    null = { source = "hashicorp/null", version = "3.2.1" }
  }
}

module "net" {
  source  = "acme/net/aws"
  version = "~> 1.1"
}

module "net_old" {
  source  = "registry.terraform.io/acme/net/aws//modules/sub"
  version = "1.0.0"
}

module "local" {
  source = "./modules/local"
}

module "direct" {
  source = "git::https://git.example.com/acme/net.git?ref=v1.0.0"
}

module "shorthand" {
  source = "github.com/acme/terraform-aws-net"
}
`;

test('a configuration directory yields its registry module calls, newest match per constraint, and skips local and direct sources', async (t) => {
  const defs = await parseConfiguration([{ name: 'cfg/main.tf', text: MAIN_TF }], linux, 'cfg');
  t.deepEqual(defs.providers.map((p) => p.source), ['registry.terraform.io/hashicorp/null']);
  t.is(defs.modules.length, 1);
  const [net] = defs.modules;
  t.is(net!.source, 'registry.terraform.io/acme/net/aws');
  t.deepEqual(net!.versions.map((v) => v.text), ['~> 1.1', '1.0.0']);
  t.is(net!.latest, 1);
  t.deepEqual(net!.position, { line: 7 });
  const json = await parseConfiguration([{ name: 'cfg/net.tf.json', text: JSON.stringify({ module: { net: { source: 'acme/net/aws', version: '1.2.0' } } }) }], linux, 'cfg');
  t.deepEqual(json.modules.map((m) => [m.source, m.versions.map((v) => v.text)]), [['registry.terraform.io/acme/net/aws', ['1.2.0']]]);
});

test('a module call with a bad version constraint is refused with file and line', async (t) => {
  const text = 'module "net" {\n  source  = "acme/net/aws"\n  version = "~> banana"\n}\n';
  const err = await t.throwsAsync(parseConfiguration([{ name: 'cfg/main.tf', text }], linux, 'cfg'), { instanceOf: InvalidInput });
  t.regex(err!.message, /^cfg\/main\.tf:1: module\.net\.version: invalid version constraint "~> banana"/);
});

test.serial('tfmirror load DIR loads the registry modules the root module calls, beside its providers', async (t) => {
  const { peers } = t.context;
  const dir = path.join(peers.s.dir, 'config');
  fs.mkdirSync(path.join(dir, 'modules', 'local'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'main.tf'), MAIN_TF);
  fs.writeFileSync(path.join(dir, 'modules', 'local', 'main.tf'), 'module "inner" {\n  source = "acme/net/aws"\n  version = "1.1.0"\n}\n');
  const dry = await runCli(['load', '--dry-run', dir, '--platform', 'linux_amd64'], peers.env);
  t.is(dry.code, 0, dry.stdout + dry.stderr);
  t.deepEqual(
    dry.stdout.split('\n').filter((l) => l.startsWith('plan')).map((l) => l.replace(/\s+/g, ' ')),
    [
      'plan registry.terraform.io/hashicorp/null 3.2.1 linux_amd64',
      // Newest match of "~> 1.1", and the pinned 1.0.0; the local module's own call is not the root's.
      'plan module registry.terraform.io/acme/net/aws 1.2.0',
      'plan module registry.terraform.io/acme/net/aws 1.0.0',
    ],
  );
  const res = await runCli(['load', dir, '--platform', 'linux_amd64'], peers.env);
  t.is(res.code, 0, res.stdout + res.stderr);
  t.deepEqual(moduleRecords(peers.s).map((r) => r.version), ['1.0.0', '1.2.0']);
});
