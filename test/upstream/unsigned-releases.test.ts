import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { getProviderDetail } from '../../server/src/admin/providers/service.js';
import { presentProviderDetail } from '../../server/src/admin/providers/presenters.js';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository } from '../../server/src/db/providers.js';
import { InvalidUpstreamResponse } from '../../server/src/upstream/errors.js';
import { RegistryClient } from '../../server/src/upstream/registry.js';
import { type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';
import { runCli } from '../fixtures/tfmirror.js';

const test = anyTest as TestFn<{ registry: FakeRegistry; dir: string }>;

test.before(async (t) => {
  t.context.registry = await startFakeRegistry([{ namespace: 'opentofu', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }]);
});
test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-unsigned-'));
});
test.afterEach.always((t) => {
  t.context.registry.clearFaults();
  t.context.registry.resetCounters();
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});
test.after.always(async (t) => t.context.registry.close());

/** What registry.opentofu.org answers for a provider whose releases it has no keys for. */
const noSigningKeys = { kind: 'patchJson', patch: { signing_keys: { gpg_public_keys: [] } } } as const;

function client(t: { context: { registry: FakeRegistry } }, allowUnsigned?: boolean): RegistryClient {
  const { registry } = t.context;
  return new RegistryClient({ hostname: 'registry.opentofu.org', url: registry.url, ca: registry.caPem, allowUnsigned });
}

async function load(t: { context: { registry: FakeRegistry; dir: string } }, upstreamBody: string) {
  const { registry, dir } = t.context;
  const config = path.join(dir, 'tfmirror.hcl');
  fs.writeFileSync(config, `data_dir = "./data"\nupstream "registry.opentofu.org" {\n  url = "${registry.url}"\n${upstreamBody}}\n`);
  const defs = path.join(dir, 'defs.hcl');
  fs.writeFileSync(defs, 'provider "registry.opentofu.org/opentofu/null" {\n  versions  = ["3.2.0"]\n  platforms = ["linux_amd64"]\n}\n');
  return runCli(['load', defs], { TFM_CONFIG: config, NODE_EXTRA_CA_CERTS: registry.caFile });
}

function storedDetail(dir: string) {
  const db = openDatabase(path.join(dir, 'data', 'tfmirror.db'));
  try {
    const id = (db.prepare('SELECT id FROM providers').get() as { id: number } | undefined)?.id;
    const packages = db.prepare('SELECT filename FROM provider_packages').all();
    return { packages, detail: id === undefined ? undefined : presentProviderDetail(getProviderDetail({ providers: new ProviderRepository(db) }, id)) };
  } finally {
    db.close();
  }
}

test.serial('a release listing no signing keys is refused by default, naming allow_unsigned', async (t) => {
  t.context.registry.fault({ path: '/download/', fault: noSigningKeys });
  const err = await t.throwsAsync(client(t).downloadInfo('opentofu', 'null', '3.2.0', 'linux', 'amd64'), { instanceOf: InvalidUpstreamResponse });
  t.regex(err.message, /the release is unsigned .*set allow_unsigned = true in upstream "registry\.opentofu\.org"/);
});

test.serial('with allow_unsigned a release listing no signing keys is vouched for by its SHA256SUMS alone', async (t) => {
  t.context.registry.fault({ path: '/download/', fault: noSigningKeys });
  const info = await client(t, true).downloadInfo('opentofu', 'null', '3.2.0', 'linux', 'amd64');
  t.deepEqual(info.trust, { kind: 'unsigned', reason: 'no_signing_keys', h1: [] });
  t.is(info.shasumsSignatureUrl, '');
  t.true(info.shasumsUrl.endsWith('SHA256SUMS'));
});

test.serial('allow_unsigned changes nothing for a signed release', async (t) => {
  const info = await client(t, true).downloadInfo('opentofu', 'null', '3.2.0', 'linux', 'amd64');
  t.deepEqual(info.trust, { kind: 'signed' });
  t.is(info.signingKeys.length, 1);
});

test.serial("OpenTofu's download document shape (an extra packages field) is tolerated", async (t) => {
  const { registry } = t.context;
  const pkg = registry.release('opentofu', 'null', '3.2.0').packages.get('linux_amd64')!;
  registry.fault({ path: '/download/', fault: { kind: 'patchJson', patch: { packages: { linux_amd64: { shasum: pkg.sha256 } }, warnings: null } } });
  const info = await client(t).downloadInfo('opentofu', 'null', '3.2.0', 'linux', 'amd64');
  t.is(info.shasum, pkg.sha256);
  t.deepEqual(info.trust, { kind: 'signed' });
});

test.serial('tfmirror load of an unsigned release fails without allow_unsigned and stores nothing', async (t) => {
  t.context.registry.fault({ path: '/download/', fault: noSigningKeys });
  const res = await load(t, '');
  t.is(res.code, 1, res.stdout + res.stderr);
  t.regex(res.stdout, /failed .*3\.2\.0 linux_amd64: .*set allow_unsigned = true in upstream "registry\.opentofu\.org"/);
  t.deepEqual(storedDetail(t.context.dir).packages, []);
  t.is(t.context.registry.requests(/\.zip$/), 0);
});

test.serial('tfmirror load with allow_unsigned stores the release checked against SHA256SUMS and marked unsigned', async (t) => {
  t.context.registry.fault({ path: '/download/', fault: noSigningKeys });
  const res = await load(t, '  allow_unsigned = true\n');
  t.is(res.code, 0, res.stdout + res.stderr);
  const { packages, detail } = storedDetail(t.context.dir);
  t.is(packages.length, 1);
  t.like(detail?.versions[0], { version: '3.2.0', keyIds: [], signed: false });
  t.is(t.context.registry.requests(/SHA256SUMS$/), 1, 'SHA256SUMS still names the archive');
  t.is(t.context.registry.requests(/\.sig$/), 0, 'no signature is fetched for a release without keys');
});

test.serial('with allow_unsigned an archive that differs from the SHA256SUMS shasum is still refused', async (t) => {
  t.context.registry.fault({ path: '/download/', fault: noSigningKeys });
  t.context.registry.fault({ path: /\.zip$/, fault: { kind: 'shaMismatch' } });
  const res = await load(t, '  allow_unsigned = true\n');
  t.is(res.code, 1, res.stdout + res.stderr);
  t.regex(res.stdout, /checksum mismatch for terraform-provider-null_3\.2\.0_linux_amd64\.zip/);
  t.deepEqual(storedDetail(t.context.dir).packages, []);
});

test.serial('a signed load through the opentofu upstream shows signed: true', async (t) => {
  const res = await load(t, '');
  t.is(res.code, 0, res.stdout + res.stderr);
  t.like(storedDetail(t.context.dir).detail?.versions[0], { keyIds: [t.context.registry.keyId], signed: true });
});
