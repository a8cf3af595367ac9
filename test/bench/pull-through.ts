/**
 * Pull-through against a slow upstream (the fake registry over HTTPS with real
 * signatures), everything on loopback, in two runs: each archive's bytes
 * spread over 800 ms (a slow link), then 800 ms before an archive's first byte
 * and full speed after (a slow origin). In each:
 *   (a) cold `terraform init` through the mirror (network_mirror, nothing held)
 *       vs the same init straight from the upstream (a CLI `host` block pointing
 *       registry.terraform.io's providers.v1 at the fake); median of
 *       BENCH_PULL_RUNS, a fresh provider for every mirror run so each is cold;
 *   (b) BENCH_PULL_CLIENTS (50) concurrent cold clients (node fetch) on one
 *       archive: how many times the upstream sent it, and the slowest client's
 *       time to last byte over one client's alone on another cold archive of
 *       the same size.
 * Numbers for humans, never asserted.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeRegistry, type FakeRegistry } from '../fixtures/fake-registry.js';
import type { FakePackage } from '../fixtures/fake-registry-releases.js';
import { findTerraform, lockHashes, terraform } from '../fixtures/terraform.js';
import { startServe, type ServeProcess } from '../fixtures/tfmirror.js';

const ARCHIVE_DELAY_MS = 800;
const PLATFORMS = ['linux_amd64', 'darwin_arm64', 'windows_amd64'];
const NAMESPACE = 'benchco';

type Slowness = 'paced' | 'first-byte';

const SLOWNESS: Record<Slowness, string> = {
  paced: `each archive's bytes spread over ${ARCHIVE_DELAY_MS} ms`,
  'first-byte': `${ARCHIVE_DELAY_MS} ms before each archive's first byte, then full speed`,
};

export async function benchPullThrough(): Promise<void> {
  const runs = Number(process.env.BENCH_PULL_RUNS ?? 3);
  const clients = Number(process.env.BENCH_PULL_CLIENTS ?? 50);
  const archiveBytes = Math.round(Number(process.env.BENCH_PULL_ARCHIVE_MB ?? 2) * 1e6);
  for (const slowness of ['paced', 'first-byte'] as const) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-bench-pull-'));
    const bigSpec = (type: string) => ({ namespace: NAMESPACE, type, version: '1.0.0', platform: 'linux_amd64', sizeBytes: archiveBytes });
    const registry = await startFakeRegistry(
      Array.from({ length: runs }, (_, i) => ({ namespace: NAMESPACE, type: `thing${i}`, versions: { '1.0.0': PLATFORMS } })),
      { bigPackages: [bigSpec('warmup'), bigSpec('alone'), bigSpec('crowd')] },
    );
    const archives = [
      ...Array.from({ length: runs }, (_, i) => [...registry.release(NAMESPACE, `thing${i}`, '1.0.0').packages.values()]).flat(),
      ...['warmup', 'alone', 'crowd'].map((type) => registry.release(NAMESPACE, type, '1.0.0').packages.get('linux_amd64')!),
    ];
    for (const pkg of archives) await slowDown(registry, pkg, slowness);
    try {
      // The load average says how much the figures are worth on a shared machine.
      const load = os.loadavg()[0]!.toFixed(1);
      console.log(`pull-through from a slow upstream: ${SLOWNESS[slowness]}; cold, HTTPS on loopback (load average ${load})`);
      await benchColdInit(dir, registry, runs);
      await benchConcurrentClients(dir, registry, clients, archiveBytes);
    } finally {
      await registry.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

/**
 * GET only: Terraform sends a HEAD before each archive, and neither a slow
 * link nor a slow origin makes a HEAD take as long as the bytes.
 */
async function slowDown(registry: FakeRegistry, pkg: FakePackage, slowness: Slowness): Promise<void> {
  const path = `/${pkg.filename}`;
  if (slowness === 'first-byte') {
    registry.fault({ fault: { kind: 'slow', ms: ARCHIVE_DELAY_MS }, path, method: 'GET' });
    return;
  }
  // The fake pauses after every piece: count them to spread the whole body over the delay.
  const chunkBytes = Math.max(1, Math.min(64 * 1024, Math.ceil(pkg.size / 8)));
  let pieces = 0;
  for await (const chunk of pkg.open()) pieces += Math.ceil((chunk as Buffer).length / chunkBytes);
  registry.fault({ fault: { kind: 'slowBody', chunkBytes, delayMs: ARCHIVE_DELAY_MS / pieces }, path, method: 'GET' });
}

/** A serve process whose registry.terraform.io is the fake, on a fresh data dir. */
async function startMirror(dir: string, registry: FakeRegistry, name: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  const config = path.join(dir, `${name}.hcl`);
  fs.writeFileSync(config, `data_dir = "./${name}-data"\nupstream "registry.terraform.io" {\n  url = "${registry.url}"\n}\n`);
  return startServe({ TFM_CONFIG: config, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_PULL_THROUGH_ENABLED: 'true', TFM_LOG_LEVEL: 'warn', NODE_EXTRA_CA_CERTS: registry.caFile, ...env });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function benchColdInit(dir: string, registry: FakeRegistry, runs: number): Promise<void> {
  if (!findTerraform()) {
    console.log('  (a) skipped: the terraform CLI is not on PATH\n');
    return;
  }
  const mirror = await startMirror(dir, registry, 'init-mirror');
  try {
    const bundle = /export SSL_CERT_FILE=(\S+)/.exec(mirror.stderr())?.[1];
    if (!bundle) throw new Error(`serve printed no CA bundle:\n${mirror.stderr()}`);
    const direct: number[] = [];
    const through: number[] = [];
    for (let i = 0; i < runs; i++) {
      const type = `thing${i}`;
      const mainTf = `terraform {\n  required_providers {\n    ${type} = { source = "${NAMESPACE}/${type}", version = "1.0.0" }\n  }\n}\n`;
      const expectedH1 = registry.release(NAMESPACE, type, '1.0.0').packages.get('linux_amd64')!.h1!;
      // Alternate, so a burst of load on the shared machine hits both sides alike.
      direct.push(await timedInit(path.join(dir, `direct-${i}`), mainTf, hostBlockRc(registry), registry.caFile, type, expectedH1));
      through.push(await timedInit(path.join(dir, `mirror-${i}`), mainTf, networkMirrorRc(mirror.url), bundle, type, expectedH1));
    }
    const d = median(direct);
    const m = median(through);
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
    console.log(`  (a) cold terraform init, one provider (${PLATFORMS.length} platforms upstream), median of ${runs}`);
    console.log(`      straight from the upstream  ${d.toFixed(2)} s   (${fmt(direct)})`);
    console.log(`      through the mirror          ${m.toFixed(2)} s   (${fmt(through)})`);
    console.log(`      ratio mirror / direct: ${(m / d).toFixed(2)}   (goal <= 1.15)\n`);
  } finally {
    await mirror.stop();
  }
}

function hostBlockRc(registry: FakeRegistry): string {
  return `host "registry.terraform.io" {\n  services = {\n    "providers.v1" = "${registry.url}v1/providers/"\n  }\n}\n`;
}

function networkMirrorRc(url: string): string {
  return `provider_installation {\n  network_mirror {\n    url = "${url}"\n  }\n}\n`;
}

/** Seconds for one `terraform init` in a fresh directory; throws with Terraform's output when it fails or installs other bytes. */
async function timedInit(dir: string, mainTf: string, rc: string, caFile: string, type: string, expectedH1: string): Promise<number> {
  const cwd = path.join(dir, 'work');
  fs.mkdirSync(cwd, { recursive: true });
  fs.writeFileSync(path.join(cwd, 'main.tf'), mainTf);
  fs.writeFileSync(path.join(dir, 'terraformrc'), rc);
  const env = { PATH: process.env.PATH, HOME: dir, TF_CLI_CONFIG_FILE: path.join(dir, 'terraformrc'), CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', SSL_CERT_FILE: caFile };
  const started = performance.now();
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd, env });
  const seconds = (performance.now() - started) / 1000;
  if (init.code !== 0) throw new Error(`terraform init failed in ${dir}:\n${init.output}`);
  const lock = lockHashes(cwd, `registry.terraform.io/${NAMESPACE}/${type}`);
  if (!lock?.hashes.includes(expectedH1)) throw new Error(`lock file of ${dir} lacks the upstream's ${expectedH1}: ${lock?.hashes.join(', ')}`);
  return seconds;
}

/** The archive URL the mirror's {version}.json hands out for linux_amd64 (this warms the metadata, not the archive). */
async function archiveUrl(base: string, type: string): Promise<string> {
  const provider = `${base}registry.terraform.io/${NAMESPACE}/${type}/`;
  const index = await fetch(`${provider}index.json`);
  if (!index.ok) throw new Error(`index.json of ${type}: ${index.status} ${await index.text()}`);
  await index.arrayBuffer();
  const doc = await fetch(`${provider}1.0.0.json`);
  if (!doc.ok) throw new Error(`1.0.0.json of ${type}: ${doc.status} ${await doc.text()}`);
  const body = (await doc.json()) as { archives: Record<string, { url: string }> };
  const rel = body.archives.linux_amd64?.url;
  if (!rel) throw new Error(`1.0.0.json of ${type} has no linux_amd64 archive`);
  return new URL(rel, `${provider}1.0.0.json`).href;
}

/** Time to last byte of one GET, and the sha256 of what arrived. */
async function timedGet(url: string): Promise<{ ms: number; firstByteMs: number; status: number; sha256: string; bytes: number }> {
  const started = performance.now();
  const res = await fetch(url);
  let firstByteMs = Number.NaN;
  const hash = createHash('sha256');
  let bytes = 0;
  const reader = res.body?.getReader();
  for (let r = await reader?.read(); r && !r.done; r = await reader!.read()) {
    if (bytes === 0) firstByteMs = performance.now() - started;
    hash.update(r.value);
    bytes += r.value.length;
  }
  return { ms: performance.now() - started, firstByteMs, status: res.status, sha256: hash.digest('hex'), bytes };
}

async function benchConcurrentClients(dir: string, registry: FakeRegistry, clients: number, archiveBytes: number): Promise<void> {
  // Plain HTTP here: the clients are node fetch, which would need the local CA wired into its agent.
  const mirror = await startMirror(dir, registry, 'crowd-mirror', { TFM_SERVER_TLS: 'false' });
  try {
    // One pull first that is not measured: the single client must not pay for the process's first pull alone.
    await timedGet(await archiveUrl(mirror.url, 'warmup'));
    const single = await archiveUrl(mirror.url, 'alone');
    const alone = await timedGet(single);
    const crowdUrl = await archiveUrl(mirror.url, 'crowd');
    const expected = registry.release(NAMESPACE, 'crowd', '1.0.0').packages.get('linux_amd64')!;
    const before = registry.requests(`/${expected.filename}`);
    const results = await Promise.all(Array.from({ length: clients }, () => timedGet(crowdUrl)));
    const upstreamDownloads = registry.requests(`/${expected.filename}`) - before;
    const correct = results.filter((r) => r.status === 200 && r.sha256 === expected.sha256).length;
    const times = results.map((r) => r.ms);
    const slowest = Math.max(...times);
    console.log(`  (b) ${clients} concurrent cold clients on one ${(archiveBytes / 1e6).toFixed(1)} MB archive (plain HTTP to the mirror)`);
    console.log(`      upstream downloads of that archive: ${upstreamDownloads}   (goal 1)`);
    console.log(`      correct bodies: ${correct}/${clients}${alone.status === 200 ? '' : `   (the single client got ${alone.status})`}`);
    const firstBytes = results.map((r) => r.firstByteMs);
    console.log(`      one client alone, time to last byte   ${alone.ms.toFixed(0)} ms   (first byte ${alone.firstByteMs.toFixed(0)} ms)`);
    console.log(`      slowest of ${clients}                       ${slowest.toFixed(0)} ms   (median ${median(times).toFixed(0)} ms; first byte median ${median(firstBytes).toFixed(0)}, max ${Math.max(...firstBytes).toFixed(0)} ms)`);
    console.log(`      ratio slowest / single: ${(slowest / alone.ms).toFixed(2)}   (goal <= 1.2)`);
    // The same crowd on the archive now held: what fanning out those bytes costs here without any upstream.
    const warm = await Promise.all(Array.from({ length: clients }, () => timedGet(crowdUrl)));
    const warmSlowest = Math.max(...warm.map((r) => r.ms));
    console.log(`      for reference, ${clients} clients on it once held: slowest ${warmSlowest.toFixed(0)} ms (median ${median(warm.map((r) => r.ms)).toFixed(0)} ms)\n`);
  } finally {
    await mirror.stop();
  }
}
