/**
 * The admin UI's figures: how long the dashboard takes to show its data with
 * 1,000 providers held (navigation start → the counts rendered, in Chromium),
 * and the size of the built bundle gzipped (what a first visit downloads).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository } from '../../server/src/db/providers.js';
import { runCli, startServe } from '../fixtures/tfmirror.js';
import { browserSkipReason, openBrowser, uiDist } from '../ui/harness.js';
import { signIn, waitForDashboardData } from '../ui/pages.js';

const ADMIN = { username: 'bench', password: 'bench passphrase that is long enough' };
const HOSTS = ['registry.terraform.io', 'registry.opentofu.org', 'registry.example.com'];
const RUNS = 7;

/** 1,000 providers over three registries and 40 namespaces, 3 packages each, sizes spread so the chart has a shape. */
function seedProviders(dbFile: string, count: number): void {
  const db = openDatabase(dbFile);
  const repo = new ProviderRepository(db);
  for (let i = 0; i < count; i++) {
    for (const [v, platform] of [['1.0.0', 'linux_amd64'], ['1.1.0', 'linux_amd64'], ['1.1.0', 'darwin_arm64']] as const) {
      const [os_, arch] = platform.split('_') as [string, string];
      repo.recordPackage({
        provider: { hostname: HOSTS[i % HOSTS.length]!, namespace: `ns${i % 40}`, type: `p${i}` },
        version: v,
        origin: 'imported',
        os: os_,
        arch,
        filename: `terraform-provider-p${i}_${v}_${platform}.zip`,
        size: 5_000_000 + ((i * 7919) % 90) * 1_000_000,
        sha256: (i.toString(16) + v + platform).padEnd(64, '0').slice(0, 64).replace(/[^0-9a-f]/g, 'a'),
        h1: 'h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        objectKey: `providers/x/${i}/${v}/${platform}`,
      });
    }
  }
  db.close();
}

/** Bytes of every built script and stylesheet, raw and gzipped (level 9, as a server would precompress). */
export function bundleSize(): { files: number; raw: number; gzip: number } {
  const assets = path.join(uiDist, 'assets');
  let raw = 0;
  let gzip = 0;
  let files = 0;
  for (const f of fs.readdirSync(assets)) {
    if (!/\.(js|css)$/.test(f)) continue;
    const bytes = fs.readFileSync(path.join(assets, f));
    raw += bytes.length;
    gzip += zlib.gzipSync(bytes, { level: 9 }).length;
    files++;
  }
  return { files, raw, gzip };
}

export async function benchUiDashboard(): Promise<void> {
  const skip = browserSkipReason();
  if (skip) {
    console.log(`ui-dashboard: skipped: ${skip}\n`);
    return;
  }
  const size = bundleSize();
  console.log(`UI bundle: ${size.files} js/css files, ${(size.raw / 1024).toFixed(1)} KiB, gzip ${(size.gzip / 1024).toFixed(1)} KiB`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-bench-ui-'));
  const browser = await openBrowser();
  try {
    const env = { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_SERVER_TLS: 'false', TFM_LOG_LEVEL: 'warn' };
    fs.mkdirSync(env.TFM_DATA_DIR, { recursive: true });
    seedProviders(path.join(env.TFM_DATA_DIR, 'tfmirror.db'), 1000);
    const created = await runCli(['create-admin', '--username', ADMIN.username], env, { input: `${ADMIN.password}\n` });
    if (created.code !== 0) throw new Error(created.stderr);
    const server = await startServe(env);
    try {
      const page = await browser.context.newPage();
      await signIn(page, server.url, ADMIN);
      const times: number[] = [];
      // Signing in loaded the bundle, so its hashed assets are in the HTTP cache (kept for a year), as for
      // anyone who opens the dashboard. Each run is a full navigation: parsing the bundle and the API calls count.
      for (let i = 0; i < RUNS; i++) {
        await page.goto(new URL('ui/', server.url).href);
        times.push(await waitForDashboardData(page));
      }
      times.sort((a, b) => a - b);
      console.log(
        `dashboard with 1,000 providers (3,000 packages), navigation start → data rendered, ${RUNS} loads after sign-in: ` +
          `median ${times[Math.floor(RUNS / 2)]!.toFixed(0)} ms, min ${times[0]!.toFixed(0)} ms, max ${times[RUNS - 1]!.toFixed(0)} ms\n`,
      );
    } finally {
      await server.stop();
    }
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
