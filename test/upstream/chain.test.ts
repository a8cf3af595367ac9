import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import anyTest, { type TestFn } from 'ava';
import { RegistryClient, RegistryClients } from '../../server/src/upstream/registry.js';
import { type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';
import { runCli } from '../fixtures/tfmirror.js';
import { fetchVerified, sha256OfStream } from './helpers.js';

const test = anyTest as TestFn<{ registry: FakeRegistry }>;

test.before(async (t) => {
  t.context.registry = await startFakeRegistry([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64', 'darwin_arm64'] } }]);
});
test.afterEach.always((t) => {
  t.context.registry.clearFaults();
  t.context.registry.resetCounters();
});
test.after.always(async (t) => t.context.registry.close());

const providersBase = (r: FakeRegistry) => `${r.url}v1/providers/`;

test.serial('with providers_url the client uses it as the providers.v1 base and makes no discovery request', async (t) => {
  const { registry } = t.context;
  // A url nobody could reach: were discovery tried, the calls would fail.
  const client = new RegistryClient({ hostname: 'registry.terraform.io', url: 'https://discovery.invalid/', providersUrl: providersBase(registry), ca: registry.caPem });
  t.teardown(() => client.close());
  t.is(await client.providersBaseUrl(), providersBase(registry));
  t.deepEqual((await client.listVersions('hashicorp', 'null')).versions.map((v) => v.version), ['3.2.0']);
  const verified = await fetchVerified(client, { namespace: 'hashicorp', type: 'null', version: '3.2.0', os: 'linux', arch: 'amd64' });
  t.is(verified.keyId, registry.keyId, 'still GPG-verified, with the keys the chained upstream lists');
  t.is(registry.requests('/.well-known/'), 0);
});

test.serial('a providers_url on loopback may be followed to loopback although the url is a public name: the base contacted decides', async (t) => {
  const { registry } = t.context;
  const client = new RegistryClient({ hostname: 'registry.terraform.io', url: 'https://registry.public.example/', providersUrl: providersBase(registry), ca: registry.caPem });
  t.teardown(() => client.close());
  const info = await client.downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64');
  t.true(info.downloadUrl.startsWith(registry.url));
  const { sha256 } = await sha256OfStream((await client.download(info.downloadUrl)).body);
  t.is(sha256, registry.release('hashicorp', 'null', '3.2.0').packages.get('linux_amd64')!.sha256);
});

test.serial('RegistryClients passes providers_url to the registry client', async (t) => {
  const { registry } = t.context;
  const clients = new RegistryClients({ 'registry.terraform.io': { url: 'https://registry.terraform.io/', providersUrl: providersBase(registry) } }, { ca: registry.caPem });
  t.teardown(() => clients.close());
  t.deepEqual((await clients.get('registry.terraform.io').listVersions('hashicorp', 'null')).versions.map((v) => v.version), ['3.2.0']);
  t.is(registry.requests('/.well-known/'), 0);
});

test.serial('tfmirror load through a providers_url upstream stores the packages signed, with no discovery request', async (t) => {
  const { registry } = t.context;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-chain-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'tfmirror.hcl');
  fs.writeFileSync(config, `data_dir = "./data"\nupstream "registry.terraform.io" {\n  providers_url = "${providersBase(registry)}"\n}\n`);
  const defs = path.join(dir, 'defs.hcl');
  fs.writeFileSync(defs, 'provider "hashicorp/null" {\n  versions  = ["3.2.0"]\n  platforms = ["linux_amd64", "darwin_arm64"]\n}\n');
  const res = await runCli(['load', defs], { TFM_CONFIG: config, NODE_EXTRA_CA_CERTS: registry.caFile });
  t.is(res.code, 0, res.stdout + res.stderr);
  t.regex(res.stdout, /2 loaded, 0 already held, 0 failed/);
  t.is(registry.requests('/.well-known/'), 0);
  const db = new Database(path.join(dir, 'data', 'tfmirror.db'), { readonly: true });
  try {
    const versions = db.prepare('SELECT key_ids AS keyIds, shasums_key AS shasumsKey FROM provider_versions').all() as { keyIds: string; shasumsKey: string | null }[];
    t.deepEqual(versions.map((v) => JSON.parse(v.keyIds)), [[registry.keyId]]);
    t.truthy(versions[0]?.shasumsKey, 'the upstream SHA256SUMS is kept next to the packages');
  } finally {
    db.close();
  }
});
