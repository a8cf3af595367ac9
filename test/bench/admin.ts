/**
 * Admin API figures: login latency at the default bcrypt cost (12), and
 * GET /admin/api/providers with 1,000 providers held.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository } from '../../server/src/db/providers.js';
import { runCli, startServe } from '../fixtures/tfmirror.js';

const PASSWORD = 'bench passphrase that is long enough';

function seedProviders(dbFile: string, count: number): void {
  const db = openDatabase(dbFile);
  const repo = new ProviderRepository(db);
  for (let i = 0; i < count; i++) {
    for (const [v, platform] of [['1.0.0', 'linux_amd64'], ['1.1.0', 'linux_amd64'], ['1.1.0', 'darwin_arm64']] as const) {
      const [os_, arch] = platform.split('_') as [string, string];
      repo.recordPackage({
        provider: { hostname: 'registry.terraform.io', namespace: `ns${i % 40}`, type: `p${i}` },
        version: v,
        origin: 'imported',
        os: os_,
        arch,
        filename: `terraform-provider-p${i}_${v}_${platform}.zip`,
        size: 20_000_000 + i,
        sha256: (i.toString(16) + v + platform).padEnd(64, '0').slice(0, 64).replace(/[^0-9a-f]/g, 'a'),
        h1: 'h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        objectKey: `providers/x/${i}/${v}/${platform}`,
      });
    }
  }
  db.close();
}

export async function benchAdmin(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-bench-admin-'));
  try {
    const env = { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_SERVER_TLS: 'false', TFM_LOG_LEVEL: 'warn' };
    seedProviders(path.join(dir, 'data', 'tfmirror.db'), 1000);
    const created = await runCli(['create-admin', '--username', 'bench'], env, { input: `${PASSWORD}\n` });
    if (created.code !== 0) throw new Error(created.stderr);
    const server = await startServe(env);
    try {
      const base = server.url.replace(/\/$/, '');
      const times: number[] = [];
      let token = '';
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const res = await fetch(`${base}/admin/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'bench', password: PASSWORD }),
        });
        times.push(performance.now() - t0);
        token = ((await res.json()) as { token: string }).token;
      }
      times.sort((a, b) => a - b);
      console.log(`admin login (bcrypt cost 12), 10 sequential logins: median ${times[5]!.toFixed(0)} ms, min ${times[0]!.toFixed(0)} ms, max ${times[9]!.toFixed(0)} ms`);

      const list = await fetch(`${base}/admin/api/providers?limit=500`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await list.json()) as { total: number };
      const r = await autocannon({ url: `${base}/admin/api/providers?limit=50`, connections: 8, duration: 5, headers: { authorization: `Bearer ${token}` } });
      console.log(
        `GET /admin/api/providers?limit=50 with ${body.total} providers (3,000 packages), 8 connections, 5 s: ` +
          `${r.requests.average.toFixed(0)} req/s, latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, errors ${r.errors + r.non2xx}`,
      );
      const t0 = performance.now();
      await fetch(`${base}/admin/api/providers?limit=500`, { headers: { authorization: `Bearer ${token}` } });
      console.log(`GET /admin/api/providers?limit=500 single request: ${(performance.now() - t0).toFixed(1)} ms\n`);
    } finally {
      await server.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
