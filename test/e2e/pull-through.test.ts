import { createHash } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import test from 'ava';
import type { FakeRegistryProvider } from '../fixtures/fake-registry.js';
import { loadSetup, type LoadSetup } from '../fixtures/load-setup.js';
import { findTerraform, lockHashes, terraform, terraformWorkspace } from '../fixtures/terraform.js';
import { runCli, startServe, type ServeProcess } from '../fixtures/tfmirror.js';

const tf = findTerraform();
if (!tf) console.log('# skipping pull-through end-to-end tests: the terraform CLI is not on PATH');
const e2e = tf ? test.serial : test.skip;

const upstreamProviders: FakeRegistryProvider[] = [
  { namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64', 'darwin_arm64', 'windows_amd64'], '3.2.1': ['linux_amd64', 'darwin_arm64'] } },
  { namespace: 'hashicorp', type: 'random', versions: { '3.6.0': ['linux_amd64'] } },
];
const nullTf = (version = '3.2.1') => `terraform {\n  required_providers {\n    null = { source = "hashicorp/null", version = "${version}" }\n  }\n}\n`;

interface Started {
  s: LoadSetup;
  server: ServeProcess;
  bundle: string;
  get(p: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>;
}

/** A fake upstream as registry.terraform.io, and a serve process pulling through it (the embedded default policy). */
async function start(t: { teardown(fn: () => unknown): void }, config = '', extraEnv: Record<string, string> = {}): Promise<Started> {
  const s = await loadSetup(upstreamProviders, { config });
  t.teardown(() => s.close());
  const server = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_PULL_THROUGH_ENABLED: 'true', ...extraEnv }, { cwd: s.dir });
  t.teardown(() => server.stop());
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;
  const ca = fs.readFileSync(bundle);
  const get = (p: string) => httpsGet(new URL(p, server.url).href, ca);
  return { s, server, bundle, get };
}

function httpsHead(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'HEAD', ca, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function httpsGet(url: string, ca: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function hostBlockWorkspace(dir: string, name: string, services: string, mainTf: string, bundle: string) {
  const root = path.join(dir, name);
  fs.mkdirSync(root, { recursive: true });
  const ws = terraformWorkspace(root, 'https://unused.invalid/', mainTf);
  fs.writeFileSync(ws.env.TF_CLI_CONFIG_FILE!, `host "registry.terraform.io" {\n  services = {\n    "providers.v1" = "${services}"\n  }\n}\n`);
  return { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } };
}

e2e('cold terraform init through the network mirror installs the upstream package; a second init in a clean directory makes no upstream request', async (t) => {
  const { s, server, bundle } = await start(t);
  const ws = terraformWorkspace(path.join(s.dir, 'first'), server.url, nullTf());
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
  t.is(init.code, 0, init.output);
  const lock = lockHashes(ws.cwd, 'registry.terraform.io/hashicorp/null')!;
  const upstreamH1 = s.registry.release('hashicorp', 'null', '3.2.1').packages.get('linux_amd64')!.h1!;
  t.true(lock.hashes.includes(upstreamH1), `lock ${lock.hashes.join(', ')} has the upstream package's ${upstreamH1}`);
  t.is(s.registry.requests(/\.zip$/), 1, 'one archive download upstream');
  t.true(s.packages().some((p) => p.h1 === upstreamH1), 'the pulled package is recorded');

  s.registry.resetCounters();
  const again = terraformWorkspace(path.join(s.dir, 'second'), server.url, nullTf());
  const second = await terraform(['init', '-no-color', '-input=false'], { cwd: again.cwd, env: { ...again.env, SSL_CERT_FILE: bundle } });
  t.is(second.code, 0, second.output);
  t.is(s.registry.requests(), 0, 'the second init is served from the mirror alone');
});

e2e('with server.workers = 2, four concurrent cold inits make one upstream download, and a warm init from a clean directory none', async (t) => {
  const { s, server, bundle, get } = await start(t, '', { TFM_SERVER_WORKERS: '2' });
  const inits = await Promise.all(
    [1, 2, 3, 4].map((i) => {
      const ws = terraformWorkspace(path.join(s.dir, `cold-${i}`), server.url, nullTf());
      return terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
    }),
  );
  for (const init of inits) t.is(init.code, 0, init.output);
  t.is(s.registry.requests(/\.zip$/), 1, 'misses reach the writer, whichever process took the connection: one archive download upstream');
  s.registry.resetCounters();
  const warm = terraformWorkspace(path.join(s.dir, 'warm'), server.url, nullTf());
  const again = await terraform(['init', '-no-color', '-input=false'], { cwd: warm.cwd, env: { ...warm.env, SSL_CERT_FILE: bundle } });
  t.is(again.code, 0, again.output);
  t.is(s.registry.requests(), 0, 'the warm init is served from the mirror alone');
  t.regex((await get('metrics')).body.toString(), /^worker_requests_passed_on_total \d+$/m, 'a read-serving worker was serving beside the writer');
});

e2e('host block init through the registry pass-through locks zh: for every platform and terraform verifies the signature', async (t) => {
  const { s, server, bundle } = await start(t);
  const services = new URL('hosts/registry.terraform.io/v1/providers/', server.url).href;
  const ws = hostBlockWorkspace(s.dir, 'host', services, nullTf('3.2.0'), bundle);
  const init = await terraform(['init', '-no-color', '-input=false'], ws);
  t.is(init.code, 0, init.output);
  t.regex(init.output, /Installed hashicorp\/null v3\.2\.0 \((self-)?signed/, 'terraform checked the signature');
  const release = s.registry.release('hashicorp', 'null', '3.2.0');
  const hashes = lockHashes(ws.cwd, 'registry.terraform.io/hashicorp/null')!.hashes;
  for (const [platform, pkg] of release.packages) t.true(hashes.includes(`zh:${pkg.sha256}`), `zh: of ${platform} in ${hashes.join(', ')}`);
  t.true(hashes.includes(release.packages.get('linux_amd64')!.h1!));
});

e2e('terraform providers lock through the host block gives a lock that installs from the upstream unchanged', async (t) => {
  const { s, server, bundle } = await start(t);
  const services = new URL('hosts/registry.terraform.io/v1/providers/', server.url).href;
  const ws = hostBlockWorkspace(s.dir, 'lock', services, nullTf('3.2.0'), bundle);
  const lock = await terraform(['providers', 'lock', '-no-color', '-platform=linux_amd64', '-platform=darwin_arm64'], ws);
  t.is(lock.code, 0, lock.output);
  const lockFile = fs.readFileSync(path.join(ws.cwd, '.terraform.lock.hcl'), 'utf8');

  // The same configuration and lock file, straight from the upstream.
  const combined = path.join(s.dir, 'both-cas.pem');
  fs.writeFileSync(combined, `${fs.readFileSync(bundle, 'utf8')}\n${s.registry.caPem}`);
  const direct = hostBlockWorkspace(s.dir, 'direct', new URL('v1/providers/', s.registry.url).href, nullTf('3.2.0'), combined);
  fs.writeFileSync(path.join(direct.cwd, '.terraform.lock.hcl'), lockFile);
  const init = await terraform(['init', '-no-color', '-input=false', '-lockfile=readonly'], direct);
  t.is(init.code, 0, init.output);
  t.is(fs.readFileSync(path.join(direct.cwd, '.terraform.lock.hcl'), 'utf8'), lockFile);
});

e2e('a tampered archive upstream fails the init, naming the check, and nothing is stored', async (t) => {
  const { s, server, bundle } = await start(t);
  s.registry.fault({ fault: { kind: 'shaMismatch' }, path: /\.zip$/ });
  const ws = terraformWorkspace(path.join(s.dir, 'tampered'), server.url, nullTf());
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
  t.not(init.code, 0, init.output);
  t.deepEqual(s.packages(), []);
  t.deepEqual(s.storedZips(), []);
  t.regex(server.stderr() + server.stdout(), /sha256|SHA256SUMS|checksum/i, 'the server log names the check');
});

e2e('a bad signature upstream fails the version document, naming the signature, and nothing is stored', async (t) => {
  const { s, server, bundle, get } = await start(t);
  s.registry.fault({ fault: { kind: 'badSignature' } });
  const doc = await get('registry.terraform.io/hashicorp/null/3.2.1.json');
  t.is(doc.status, 502, 'the upstream is at fault, not the client');
  t.regex(doc.body.toString(), /signature/i, doc.body.toString());
  t.regex(doc.body.toString(), /"upstream":"registry\.terraform\.io"/);
  const ws = terraformWorkspace(path.join(s.dir, 'badsig'), server.url, nullTf());
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
  t.not(init.code, 0, init.output);
  t.is(s.registry.requests(/\.zip$/), 0, 'no archive is fetched for a release that failed its signature');
  t.deepEqual(s.packages(), []);
});

e2e('with the upstream stopped: held providers install (network mirror and host block), index.json answers stale, an unheld version is 503 with Retry-After', async (t) => {
  const { s, server, bundle, get } = await start(t, 'pull_through {\n  metadata_ttl = "1s"\n}\n');
  const first = terraformWorkspace(path.join(s.dir, 'warm'), server.url, nullTf());
  t.is((await terraform(['init', '-no-color', '-input=false'], { cwd: first.cwd, env: { ...first.env, SSL_CERT_FILE: bundle } })).code, 0);
  await s.registry.close();
  await new Promise((r) => setTimeout(r, 1500)); // past metadata_ttl: what the mirror has is now stale

  const index = await get('registry.terraform.io/hashicorp/null/index.json');
  t.is(index.status, 200);
  t.deepEqual(Object.keys((JSON.parse(index.body.toString()) as { versions: object }).versions).sort(), ['3.2.0', '3.2.1']);

  const ws = terraformWorkspace(path.join(s.dir, 'offline'), server.url, nullTf());
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd: ws.cwd, env: { ...ws.env, SSL_CERT_FILE: bundle } });
  t.is(init.code, 0, init.output);

  // The registry pass-through answers a held version from the evidence stored with it.
  const services = new URL('hosts/registry.terraform.io/v1/providers/', server.url).href;
  const host = hostBlockWorkspace(s.dir, 'offline-host', services, nullTf(), bundle);
  const hostInit = await terraform(['init', '-no-color', '-input=false'], host);
  t.is(hostInit.code, 0, hostInit.output);
  t.regex(hostInit.output, /Installed hashicorp\/null v3\.2\.1 \((self-)?signed/);

  const started = Date.now();
  const unheld = await get('registry.terraform.io/hashicorp/random/3.6.0.json');
  t.is(unheld.status, 503, unheld.body.toString());
  t.truthy(unheld.headers['retry-after']);
  t.true(Date.now() - started < 15_000, 'answered, not hung');
});

e2e('a version loaded before the upstream went away installs through the host block from its stored evidence', async (t) => {
  const { s, server, bundle } = await start(t);
  const defs = s.writeDefinitions('defs.hcl', 'provider "hashicorp/null" {\n  versions  = ["3.2.0"]\n  platforms = ["linux_amd64"]\n}\n');
  const loaded = await runCli(['load', defs], s.env, { cwd: s.dir });
  t.is(loaded.code, 0, loaded.stdout + loaded.stderr);
  await s.registry.close();
  await new Promise((r) => setTimeout(r, 600)); // the server polls for other writers every 500 ms
  const services = new URL('hosts/registry.terraform.io/v1/providers/', server.url).href;
  const ws = hostBlockWorkspace(s.dir, 'loaded', services, nullTf('3.2.0'), bundle);
  const init = await terraform(['init', '-no-color', '-input=false'], ws);
  t.is(init.code, 0, init.output);
  t.regex(init.output, /Installed hashicorp\/null v3\.2\.0 \((self-)?signed/);
  const hashes = lockHashes(ws.cwd, 'registry.terraform.io/hashicorp/null')!.hashes;
  for (const [platform, pkg] of s.registry.release('hashicorp', 'null', '3.2.0').packages) {
    t.true(hashes.includes(`zh:${pkg.sha256}`), `zh: of ${platform}, from the stored SHA256SUMS`);
  }
});

e2e('an excluded provider is 404, and a hostname that is not an upstream is 404 with no network call', async (t) => {
  const { s, get } = await start(t, 'pull_through {\n  exclude = ["registry.terraform.io/hashicorp/random"]\n}\n');
  s.registry.resetCounters();
  t.is((await get('registry.terraform.io/hashicorp/random/index.json')).status, 404);
  t.is((await get('registry.terraform.io/hashicorp/random/3.6.0.json')).status, 404);
  t.is((await get('hosts/registry.terraform.io/v1/providers/hashicorp/random/versions')).status, 404);
  t.is((await get('nowhere.example.com/acme/thing/index.json')).status, 404);
  t.is((await get('hosts/nowhere.example.com/v1/providers/acme/thing/versions')).status, 404);
  t.is(s.registry.requests(), 0);
  t.is((await get('registry.terraform.io/hashicorp/null/index.json')).status, 200, 'an included provider still pulls');
});

e2e('HEAD of an archive not held answers without holding up the pull, and a GET after it gets the verified bytes', async (t) => {
  const { s, server, bundle, get } = await start(t);
  const rel = 'registry.terraform.io/hashicorp/null/3.2.1/terraform-provider-null_3.2.1_linux_amd64.zip';
  t.is(await httpsHead(new URL(rel, server.url).href, fs.readFileSync(bundle)), 200);
  const body = (await get(rel)).body;
  t.is(createHash('sha256').update(body).digest('hex'), s.registry.release('hashicorp', 'null', '3.2.1').packages.get('linux_amd64')!.sha256);
  t.is((await get('healthz')).status, 200);
});

e2e('two serve processes on one database: 32 concurrent cold downloads make one upstream download', async (t) => {
  const { s, server, bundle, get } = await start(t);
  const second = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_PULL_THROUGH_ENABLED: 'true' }, { cwd: s.dir });
  t.teardown(() => second.stop());
  const ca = fs.readFileSync(bundle);
  s.registry.fault({ fault: { kind: 'slowBody', chunkBytes: 256, delayMs: 20 }, path: /\.zip$/ });
  const doc = JSON.parse((await get('registry.terraform.io/hashicorp/null/3.2.1.json')).body.toString()) as { archives: Record<string, { url: string }> };
  const rel = `registry.terraform.io/hashicorp/null/${doc.archives.linux_amd64!.url}`;
  const expected = s.registry.release('hashicorp', 'null', '3.2.1').packages.get('linux_amd64')!.sha256;
  const bodies = await Promise.all(
    Array.from({ length: 32 }, (_, i) => httpsGet(new URL(rel, i % 2 === 0 ? server.url : second.url).href, ca)),
  );
  for (const b of bodies) t.is(b.status, 200);
  t.deepEqual(new Set(bodies.map((b) => createHash('sha256').update(b.body).digest('hex'))), new Set([expected]));
  t.is(s.registry.requests(/\.zip$/), 1, 'one upstream download for both processes');
});
