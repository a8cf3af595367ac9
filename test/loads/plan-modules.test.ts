import anyTest, { type TestFn } from 'ava';
import { InvalidInput } from '../../server/src/errors.js';
import { planDefinitions } from '../../server/src/loads/plan-modules.js';
import type { ModuleAddress } from '../../server/src/modules/ports.js';
import { parseDefinitions } from '../../server/src/providers/definitions/index.js';
import { UnknownUpstream } from '../../server/src/upstream/errors.js';
import { RegistryClients } from '../../server/src/upstream/registry.js';
import { startFakeRegistry, type FakeRegistry } from '../fixtures/fake-registry.js';

const test = anyTest as TestFn<{ registry: FakeRegistry }>;

const ARCHIVE = 'https://archives.invalid/net.tar.gz';

test.before(async (t) => {
  t.context.registry = await startFakeRegistry([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.1': ['linux_amd64'] } }], {
    modules: [
      {
        namespace: 'acme',
        name: 'net',
        system: 'aws',
        versions: { '1.0.0': ARCHIVE, '1.1.0': ARCHIVE, '1.2.0': ARCHIVE, '2.0.0': ARCHIVE, '2.1.0': ARCHIVE, '3.0.0-beta1': ARCHIVE },
      },
    ],
  });
});
test.afterEach.always((t) => {
  t.context.registry.clearFaults();
  t.context.registry.resetCounters();
});
test.after.always((t) => t.context.registry.close());

function clients(registry: FakeRegistry): RegistryClients {
  return new RegistryClients({ [registry.hostname]: { url: registry.url } }, { ca: registry.caPem, maxAttempts: 1 });
}

async function plan(registry: FakeRegistry, hcl: string, held?: Record<string, string[]>) {
  const upstreams = clients(registry);
  try {
    const defs = await parseDefinitions(hcl, { format: 'hcl' });
    const heldModules = held && ((a: ModuleAddress) => new Set(held[`${a.namespace}/${a.name}/${a.system}`] ?? []));
    return await planDefinitions(defs, { providers: (h) => upstreams.get(h), modules: (h) => upstreams.modules(h) }, heldModules ? { heldModules } : {});
  } finally {
    upstreams.close();
  }
}

test.serial('constraints resolve against the upstream module versions, newest N per constraint, exact versions kept; items have no platform', async (t) => {
  const { registry } = t.context;
  const result = await plan(registry, `module "${registry.hostname}/acme/net/aws" {\n  versions = ["~> 1.0", "2.0.0"]\n  latest   = 2\n}\n`);
  const source = `${registry.hostname}/acme/net/aws`;
  t.deepEqual(result.items, [
    { source, version: '2.0.0', platform: '' },
    { source, version: '1.2.0', platform: '' },
    { source, version: '1.1.0', platform: '' },
  ]);
  t.deepEqual(result.problems, []);
  t.deepEqual(result.notices, []);
  t.is(registry.requests('/v1/modules/acme/net/aws/versions'), 1);
  t.is(registry.requests('/download'), 0, 'planning downloads nothing');
});

test.serial('providers and modules of one document are planned together, providers first', async (t) => {
  const { registry } = t.context;
  const host = registry.hostname;
  const result = await plan(
    registry,
    `provider "${host}/hashicorp/null" {\n  versions = ["3.2.1"]\n  platforms = ["linux_amd64"]\n}\nmodule "${host}/acme/net/aws" {\n  versions = [">= 2.0"]\n  latest = 1\n}\n`,
  );
  t.deepEqual(result.items, [
    { source: `${host}/hashicorp/null`, version: '3.2.1', platform: 'linux_amd64' },
    // The prerelease 3.0.0-beta1 matches no ">=" constraint, as in Terraform.
    { source: `${host}/acme/net/aws`, version: '2.1.0', platform: '' },
  ]);
});

test.serial('a version the upstream does not list and a constraint nothing matches are problems, not items', async (t) => {
  const { registry } = t.context;
  const result = await plan(registry, `module "${registry.hostname}/acme/net/aws" {\n  versions = ["1.9.0", "~> 4.0", "1.0.0"]\n}\n`);
  t.deepEqual(result.items, [{ source: `${registry.hostname}/acme/net/aws`, version: '1.0.0', platform: '' }]);
  t.deepEqual(result.problems, [
    `${registry.hostname}/acme/net/aws: no upstream version matches "~> 4.0"`,
    `${registry.hostname}/acme/net/aws: version 1.9.0 is not offered upstream`,
  ]);
});

test.serial('a module the upstream does not have is a mistake in the definitions', async (t) => {
  const { registry } = t.context;
  await t.throwsAsync(plan(registry, `module "${registry.hostname}/acme/nope/aws" {\n  versions = ["1.0.0"]\n}\n`), { instanceOf: InvalidInput });
});

test.serial('a module hostname without an upstream refuses the whole plan by name before any request, providers included', async (t) => {
  const { registry } = t.context;
  const hcl = `provider "${registry.hostname}/hashicorp/null" {\n  versions = ["~> 3.0"]\n  platforms = ["linux_amd64"]\n}\nmodule "elsewhere.example.com/acme/net/aws" {\n  versions = ["~> 1.0"]\n}\n`;
  const err = await t.throwsAsync(plan(registry, hcl), { instanceOf: UnknownUpstream });
  t.regex(err!.message, /elsewhere\.example\.com/);
  t.is(registry.requests(), 0);
});

test.serial('with the upstream failing, module versions resolve against the held ones, with a notice', async (t) => {
  const { registry } = t.context;
  registry.fault({ fault: { kind: 'status500' }, path: '/v1/modules/' });
  const result = await plan(registry, `module "${registry.hostname}/acme/net/aws" {\n  versions = ["~> 1.0"]\n}\n`, { 'acme/net/aws': ['1.1.0', '1.0.0'] });
  t.deepEqual(result.items.map((i) => i.version), ['1.1.0', '1.0.0']);
  t.is(result.notices.length, 1);
  t.regex(result.notices[0]!, /acme\/net\/aws: upstream unreachable .*resolved against held versions/);
  t.true(registry.requests('/v1/modules/') >= 1, 'the upstream was asked first');
});

test.serial('without held versions to fall back on, a failing upstream fails the plan', async (t) => {
  const { registry } = t.context;
  registry.fault({ fault: { kind: 'status500' }, path: '/v1/modules/' });
  await t.throwsAsync(plan(registry, `module "${registry.hostname}/acme/net/aws" {\n  versions = ["~> 1.0"]\n}\n`));
});

test.serial('a module whose versions are all exact and held is planned with no request', async (t) => {
  const { registry } = t.context;
  const result = await plan(registry, `module "${registry.hostname}/acme/net/aws" {\n  versions = ["1.0.0", "1.2.0"]\n}\n`, { 'acme/net/aws': ['1.0.0', '1.2.0'] });
  t.deepEqual(result.items.map((i) => i.version), ['1.2.0', '1.0.0']);
  t.is(registry.requests(), 0);
  t.deepEqual(result.notices, []);
});
