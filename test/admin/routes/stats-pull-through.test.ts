import fs from 'node:fs';
import https from 'node:https';
import test from 'ava';
import { statsRoutes } from '../../../server/src/admin/stats/routes.js';
import type { ProviderIdentity } from '../../../server/src/db/providers.js';
import { PullThrough } from '../../../server/src/pull/pull-through.js';
import { loadSetup } from '../../fixtures/load-setup.js';
import { runCli, startServe } from '../../fixtures/tfmirror.js';
import { FakeMetadata, FakePuller } from '../../pull/fakes.js';
import { createWorld, startAdmin } from './helpers.js';

const zeros = { misses: 0, hits: 0, pulled: 0, stale: 0, refused: 0, coalesced: 0, failed: 0, hitRatio: null };
const id: ProviderIdentity = { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' };

async function inProcess(deps: Omit<Parameters<typeof statsRoutes>[0], 'providers'>) {
  const world = await createWorld();
  const server = await startAdmin(statsRoutes({ providers: world.providers, ...deps }));
  return { server, close: () => server.close().finally(() => world.close()) };
}

test('without the seam the report says off, counts nothing and lists every built-in and configured upstream as up', async (t) => {
  const s = await inProcess({ upstreams: ['Registry.Example.COM', 'registry.terraform.io'] });
  t.teardown(() => s.close());
  const res = await s.server.call('GET', '/stats/pull-through', { token: 'viewer-token' });
  t.is(res.status, 200);
  const up = (hostname: string) => ({ hostname, state: 'up', retryAt: null, consecutiveFailures: 0 });
  t.deepEqual(res.body, {
    enabled: false,
    hitRatio: null,
    providers: zeros,
    modules: zeros,
    total: zeros,
    upstreams: [up('registry.example.com'), up('registry.opentofu.org'), up('registry.terraform.io')],
  });
});

test('the seam’s totals are reported with hits / misses as the hit ratio; pull-through off reports zeros; operators are refused', async (t) => {
  const metadata = new FakeMetadata([{ id, versions: { '1.0.0': { linux_amd64: Buffer.from('zip') } } }]);
  const policy = { enabled: true, include: ['registry.terraform.io/*/*'], exclude: [] };
  const seam = new PullThrough({ policy, upstreams: ['registry.terraform.io'], metadata, puller: new FakePuller(() => Buffer.from('zip')) });
  await seam.versions(id, false); // a miss answered with a pull
  metadata.mode = 'down';
  await seam.versions(id, true); // a miss answered with what is held: the upstream is down
  const source = { enabled: true, stats: seam.stats, moduleStats: seam.moduleStats, health: (h: string) => metadata.health(h) };
  const s = await inProcess({ upstreams: [], pullThrough: source });
  t.teardown(() => s.close());
  const res = await s.server.call('GET', '/stats/pull-through', { token: 'admin-token' });
  t.is(res.status, 200);
  t.like(res.body, { enabled: true, hitRatio: 0.5, providers: { misses: 2, hits: 1, pulled: 1, hitRatio: 0.5 }, modules: zeros, total: { misses: 2, hits: 1 } });
  t.is((await s.server.call('GET', '/stats/pull-through', { token: 'operator-token' })).status, 403);

  const off = await inProcess({ upstreams: [], pullThrough: { ...source, enabled: false } });
  t.teardown(() => off.close());
  const res2 = await off.server.call('GET', '/stats/pull-through', { token: 'viewer-token' });
  t.like(res2.body, { enabled: false, hitRatio: null, providers: zeros, modules: zeros, total: zeros });
});

const PASSWORD = 'correct horse battery staple 42';

test('a real serve: a miss and a hit move the totals, and an upstream answering 503 with Retry-After shows backing_off until retryAt', async (t) => {
  const s = await loadSetup([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.1': ['linux_amd64'] } }], {
    config: 'upstream "internal.example.com" {\n  url = "https://127.0.0.1:9/"\n}\n',
  });
  t.teardown(() => s.close());
  // No reuse of upstream metadata: every read of the versions list asks the upstream, so its 503 is seen at once.
  const env = { ...s.env, TFM_AUTH_BCRYPT_COST: '10', TFM_PULL_THROUGH_METADATA_TTL: '0', TFM_PULL_THROUGH_STALE_IF_ERROR: '0' };
  const created = await runCli(['create-admin', '--username', 'alice'], env, { input: `${PASSWORD}\n` });
  t.is(created.code, 0, created.stderr);
  const server = await startServe({ ...env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_PULL_THROUGH_ENABLED: 'true' }, { cwd: s.dir });
  t.teardown(() => server.stop());
  const agent = new https.Agent({ ca: fs.readFileSync(/export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!) });
  t.teardown(() => agent.destroy());
  const call = (method: string, p: string, token?: string, body?: object) =>
    new Promise<{ status: number; json: any }>((resolve, reject) => {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      if (body) headers['content-type'] = 'application/json';
      const req = https.request(new URL(p, server.url), { method, agent, headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text && res.headers['content-type']?.includes('json') ? JSON.parse(text) : text }));
      });
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  const token = (await call('POST', 'admin/api/auth/login', undefined, { username: 'alice', password: PASSWORD })).json.token as string;
  const report = async () => (await call('GET', 'admin/api/stats/pull-through', token)).json;

  const before = await report();
  t.like(before, { enabled: true, hitRatio: null, providers: zeros, total: zeros });
  t.deepEqual(
    before.upstreams.map((u: any) => [u.hostname, u.state]),
    [['internal.example.com', 'up'], ['registry.opentofu.org', 'up'], ['registry.terraform.io', 'up']],
  );

  // Cold: the versions list, the version document and the archive are misses answered by pulling.
  const index = await call('GET', 'registry.terraform.io/hashicorp/null/index.json');
  t.is(index.status, 200, JSON.stringify(index.json));
  const doc = await call('GET', 'registry.terraform.io/hashicorp/null/3.2.1.json');
  t.is(doc.status, 200, JSON.stringify(doc.json));
  const zip = await call('GET', new URL(doc.json.archives.linux_amd64.url, new URL('registry.terraform.io/hashicorp/null/', server.url)).href);
  t.is(zip.status, 200);
  const cold = await report();
  t.like(cold, { hitRatio: 0, providers: { misses: 3, pulled: 3, hits: 0, failed: 0 } });
  t.like(cold.upstreams[2], { hostname: 'registry.terraform.io', state: 'up', retryAt: null, consecutiveFailures: 0 });

  // Held now; the upstream asks to be left alone for two minutes: the list is answered with what is held.
  s.registry.fault({ fault: { kind: 'status', status: 503, headers: { 'retry-after': '120' } }, path: '/v1/providers/hashicorp/null/versions' });
  const asked = Date.now();
  const held = await call('GET', 'registry.terraform.io/hashicorp/null/index.json');
  t.is(held.status, 200, JSON.stringify(held.json));
  t.deepEqual(Object.keys(held.json.versions), ['3.2.1']);
  const after = await report();
  t.like(after, { hitRatio: 0.25, providers: { misses: 4, hits: 1, pulled: 3 }, total: { misses: 4, hits: 1 } });
  const upstream = after.upstreams.find((u: any) => u.hostname === 'registry.terraform.io');
  t.like(upstream, { state: 'backing_off', consecutiveFailures: 1 });
  const retryAt = Date.parse(upstream.retryAt);
  t.true(retryAt >= asked + 110_000 && retryAt <= Date.now() + 121_000, `retryAt ${upstream.retryAt} is about two minutes after the 503`);
  t.like(after.upstreams.find((u: any) => u.hostname === 'registry.opentofu.org'), { state: 'up', retryAt: null });
});
