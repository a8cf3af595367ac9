/**
 * Only built-in and configured upstreams are contacted: a definition naming
 * any other registry hostname is refused by name, before a single request,
 * at every entry point that plans a load (tfmirror load, the admin load API,
 * the operator's provider-set PUT).
 */
import anyTest, { type TestFn } from 'ava';
import { jobRoutes } from '../../server/src/admin/jobs/routes.js';
import { Metrics } from '../../server/src/metrics/index.js';
import { RegistryClients } from '../../server/src/upstream/registry.js';
import { type LoadSetup, loadSetup } from '../fixtures/load-setup.js';
import { runCli } from '../fixtures/tfmirror.js';
import { startProviderSetAdmin } from '../admin/provider-sets/helpers.js';
import { createWorld, startAdmin, type World } from '../admin/routes/helpers.js';

const test = anyTest as TestFn<{ s: LoadSetup }>;

const REFUSAL = 'hostname evil.example has no upstream block; add `upstream "evil.example" {}` to mirror it';

// The known provider comes first: refusing must not wait until the others were asked.
const hcl = `provider "hashicorp/null" {
  versions  = ["3.2.0"]
  platforms = ["linux_amd64"]
}

provider "evil.example/acme/widget" {
  versions  = ["1.0.0"]
  platforms = ["linux_amd64"]
}
`;

test.before(async (t) => {
  t.context.s = await loadSetup([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }]);
});
test.after.always(async (t) => t.context.s.close());
test.afterEach.always((t) => t.context.s.registry.resetCounters());

function clientsFor(s: LoadSetup): RegistryClients {
  return new RegistryClients({ 'registry.terraform.io': { url: s.registry.url } }, { ca: s.registry.caPem });
}

/** Long enough for a request that was started anyway to reach the fake registry. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

const jobCount = (w: World) => w.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM jobs').get()!.n;

test.serial('tfmirror load refuses a hostname without an upstream by name and contacts no upstream', async (t) => {
  const { s } = t.context;
  const res = await runCli(['load', s.writeDefinitions('evil.hcl', hcl)], s.env);
  t.is(res.code, 2, res.stdout + res.stderr);
  t.true(res.stderr.includes(REFUSAL), res.stderr);
  await settle();
  t.is(s.registry.requests(), 0);
});

test.serial('POST /admin/api/providers/load refuses a hostname without an upstream with 400 and contacts no upstream', async (t) => {
  const { s } = t.context;
  const world = await createWorld();
  const registries = clientsFor(s);
  const server = await startAdmin(jobRoutes({ jobs: world.jobs, registries, maxAttempts: 1 }));
  t.teardown(async () => {
    await server.close();
    registries.close();
    world.close();
  });
  const res = await server.call('POST', '/providers/load', { token: 'admin-token', body: hcl, contentType: 'text/plain' });
  t.is(res.status, 400);
  t.is(res.body.error.message, REFUSAL);
  await settle();
  t.is(s.registry.requests(), 0);
  t.is(jobCount(world), 0);

  // The same route with only the configured hostname does reach the upstream: the count above means something.
  const known = hcl.slice(0, hcl.indexOf('provider "evil'));
  t.is((await server.call('POST', '/providers/load', { token: 'admin-token', body: known, contentType: 'text/plain' })).status, 202);
  t.true(s.registry.requests() > 0);
});

test.serial('PUT of a provider set refuses a hostname without an upstream with 400 and contacts no upstream', async (t) => {
  const { s } = t.context;
  const world = await createWorld();
  const registries = clientsFor(s);
  const server = await startProviderSetAdmin(world, registries);
  t.teardown(async () => {
    await server.close();
    registries.close();
    world.close();
  });
  const body = {
    uid: 'uid-1',
    generation: 1,
    kind: 'ProviderSet',
    spec: {
      providers: [
        { source: 'hashicorp/null', versions: ['3.2.0'], platforms: ['linux_amd64'] },
        { source: 'evil.example/acme/widget', versions: ['1.0.0'], platforms: ['linux_amd64'] },
      ],
    },
  };
  const res = await server.call('PUT', '/provider-sets/team-a/core', { token: 'operator-token', body });
  t.is(res.status, 400);
  t.is(res.body.error.message, REFUSAL);
  await settle();
  t.is(s.registry.requests(), 0);
  t.is(jobCount(world), 0);
});

test.serial('upstream metric labels are only the configured and built-in hostnames, whatever was asked for', async (t) => {
  const registries = clientsFor(t.context.s);
  t.teardown(() => registries.close());
  for (const host of ['evil.example', 'a.example', 'b.example']) t.throws(() => registries.get(host));
  await registries.get('registry.terraform.io').listVersions('hashicorp', 'null');
  t.deepEqual(Object.keys(registries.stats()), ['registry.terraform.io']);
  const scrape = await new Metrics({ defaultMetrics: false, upstream: () => registries.stats() }).scrape();
  const hostnames = new Set([...scrape.matchAll(/^upstream_requests_total\{hostname="([^"]*)"/gm)].map((m) => m[1]));
  t.deepEqual([...hostnames], ['registry.terraform.io']);
});
