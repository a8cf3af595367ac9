import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import test from 'ava';
import type { FakeRegistryProvider } from '../fixtures/fake-registry.js';
import { loadSetup } from '../fixtures/load-setup.js';
import { writeMirrorDirectory } from '../fixtures/mirror-directory.js';
import { startStaticServer } from '../fixtures/static-server.js';
import { findTerraform, lockHashes, terraform, terraformWorkspace } from '../fixtures/terraform.js';
import { startServe } from '../fixtures/tfmirror.js';

/*
 * Chains of mirrors, end to end with the real terraform CLI: mirror B pulls
 * through from mirror A (providers_url at A's registry pass-through, still
 * GPG-verified), or from a plain network mirror directory behind a static
 * file server (network_mirror, trusted by its hashes).
 */

const tf = findTerraform();
if (!tf) console.log('# skipping mirror chain tests: the terraform CLI is not on PATH');
const e2e = tf ? test.serial : test.skip;

const upstreamProviders: FakeRegistryProvider[] = [{ namespace: 'hashicorp', type: 'null', versions: { '3.2.1': ['linux_amd64', 'darwin_arm64'] } }];
/** Both mirrors pull through: whatever the test environment's default, these tests are about misses. */
const PULL_THROUGH_ON = { TFM_PULL_THROUGH_ENABLED: 'true' };
const nullTf = `terraform {\n  required_providers {\n    null = { source = "hashicorp/null", version = "3.2.1" }\n  }\n}\n`;

/** Mirror B: a serve process on its own data dir whose registry.terraform.io upstream is `upstreamBody`. */
async function startMirrorB(t: { teardown(fn: () => unknown): void }, upstreamBody: string, caFile: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-chain-b-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'tfmirror.hcl');
  fs.writeFileSync(config, `data_dir = "./data"\nupstream "registry.terraform.io" {\n${upstreamBody}\n}\n`);
  const server = await startServe({ TFM_CONFIG: config, NODE_EXTRA_CA_CERTS: caFile, TFM_SERVER_LISTEN: '127.0.0.1:0', ...PULL_THROUGH_ON }, { cwd: dir });
  t.teardown(() => server.stop());
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;
  const versions = () => {
    const db = new Database(path.join(dir, 'data', 'tfmirror.db'), { readonly: true });
    try {
      return db.prepare('SELECT version, origin, key_ids AS keyIds FROM provider_versions').all() as { version: string; origin: string; keyIds: string }[];
    } finally {
      db.close();
    }
  };
  return { dir, server, bundle, versions };
}

async function coldInit(dir: string, mirrorUrl: string, bundle: string) {
  const ws = terraformWorkspace(dir, mirrorUrl, nullTf);
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
  return { init, lock: init.code === 0 ? lockHashes(ws.cwd, 'registry.terraform.io/hashicorp/null') : undefined };
}

e2e("mirror B with providers_url at mirror A: a cold init at B costs one upstream download at A's upstream, GPG-verified at B", async (t) => {
  const s = await loadSetup(upstreamProviders);
  t.teardown(() => s.close());
  const a = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', ...PULL_THROUGH_ON }, { cwd: s.dir });
  t.teardown(() => a.stop());
  const aBundle = /export SSL_CERT_FILE=(\S+)/.exec(a.stderr())![1]!;

  const b = await startMirrorB(t, `  providers_url = "${new URL('hosts/registry.terraform.io/v1/providers/', a.url).href}"`, aBundle);
  const { init, lock } = await coldInit(path.join(b.dir, 'client'), b.server.url, b.bundle);
  t.is(init.code, 0, `${init.output}\nB: ${b.server.stderr()}\nA: ${a.stderr()}`);
  const upstream = s.registry.release('hashicorp', 'null', '3.2.1').packages.get('linux_amd64')!;
  t.true(lock!.hashes.includes(upstream.h1!), `lock ${lock!.hashes.join(', ')} has the upstream package's h1`);
  t.is(s.registry.requests(/\.zip$/), 1, 'one archive download at the far upstream');
  t.deepEqual(
    b.versions().map((v) => ({ version: v.version, origin: v.origin, keyIds: JSON.parse(v.keyIds) as string[] })),
    [{ version: '3.2.1', origin: 'pulled', keyIds: [s.registry.keyId] }],
    "B verified the upstream's signature through A",
  );

  // A second cold client at B is served by B alone.
  s.registry.resetCounters();
  const again = await coldInit(path.join(b.dir, 'client2'), b.server.url, b.bundle);
  t.is(again.init.code, 0, again.init.output);
  t.is(s.registry.requests(), 0);
});

e2e('mirror B with network_mirror at a plain mirror directory behind a static file server: a cold init installs, recorded unsigned', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-chain-dir-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const archives = await writeMirrorDirectory(root, [{ namespace: 'hashicorp', type: 'null', versions: { '3.2.1': ['linux_amd64', 'darwin_arm64'] } }]);
  const files = await startStaticServer(root);
  t.teardown(() => files.close());

  const b = await startMirrorB(t, `  network_mirror = "${files.url}"`, files.caFile);
  const { init, lock } = await coldInit(path.join(b.dir, 'client'), b.server.url, b.bundle);
  t.is(init.code, 0, `${init.output}\nB: ${b.server.stderr()}`);
  const linux = archives.find((x) => x.platform === 'linux_amd64')!;
  t.true(lock!.hashes.includes(linux.h1), `lock ${lock!.hashes.join(', ')} has the directory's h1`);
  t.is(files.requests(/\.zip$/), 1, 'one archive download from the directory');
  t.deepEqual(
    b.versions().map((v) => ({ version: v.version, origin: v.origin, keyIds: JSON.parse(v.keyIds) as string[] })),
    [{ version: '3.2.1', origin: 'pulled', keyIds: [] }],
  );
});

e2e("mirror B with network_mirror at mirror A's root: a cold init at B installs through A, checked against A's zh: hashes, recorded unsigned", async (t) => {
  const s = await loadSetup(upstreamProviders);
  t.teardown(() => s.close());
  const a = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', ...PULL_THROUGH_ON }, { cwd: s.dir });
  t.teardown(() => a.stop());
  const aBundle = /export SSL_CERT_FILE=(\S+)/.exec(a.stderr())![1]!;

  const b = await startMirrorB(t, `  network_mirror = "${a.url}"`, aBundle);
  const { init, lock } = await coldInit(path.join(b.dir, 'client'), b.server.url, b.bundle);
  t.is(init.code, 0, `${init.output}\nB: ${b.server.stderr()}\nA: ${a.stderr()}`);
  const upstream = s.registry.release('hashicorp', 'null', '3.2.1').packages.get('linux_amd64')!;
  t.true(lock!.hashes.includes(upstream.h1!));
  t.is(s.registry.requests(/\.zip$/), 1, 'one archive download at the far upstream');
  t.deepEqual(
    b.versions().map((v) => ({ version: v.version, origin: v.origin, keyIds: JSON.parse(v.keyIds) as string[] })),
    [{ version: '3.2.1', origin: 'pulled', keyIds: [] }],
    'a network mirror vouches by hashes, not signatures',
  );
});
