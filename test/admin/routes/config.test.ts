import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { configRoutes } from '../../../server/src/admin/config-route.js';
import { loadConfig } from '../../../server/src/config/load.js';
import type { Config } from '../../../server/src/config/types.js';
import { startAdmin } from './helpers.js';

const SECRETS = ['jwt-secret-9f8e7d', 'operator-token-1a2b3c', 'AKIAEXAMPLE', 's3-secret-4d5e6f'];

async function secretConfig(): Promise<Config> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-admin-config-'));
  const base = await loadConfig({ env: {}, cwd: dir });
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    ...base,
    auth: { ...base.auth, jwtSecret: SECRETS[0]!, operatorToken: SECRETS[1]! },
    operator: { ...base.operator, token: SECRETS[1]! },
    storage: {
      type: 's3',
      bucket: 'mirror',
      region: 'eu-west-1',
      endpoint: '',
      prefix: '',
      forcePathStyle: false,
      accessKeyId: SECRETS[2]!,
      secretAccessKey: SECRETS[3]!,
      presignDownloads: true,
      presignTtl: 300,
    },
  };
}

test('the configuration is shown to admins with every secret redacted', async (t) => {
  const config = await secretConfig();
  const server = await startAdmin(configRoutes({ config }));
  t.teardown(() => server.close());
  const res = await server.call('GET', '/config', { token: 'admin-token' });
  t.is(res.status, 200);
  const text = JSON.stringify(res.body);
  for (const secret of SECRETS) t.false(text.includes(secret), secret);
  t.like(res.body, {
    storage: { type: 's3', bucket: 'mirror', accessKeyId: '[redacted]', secretAccessKey: '[redacted]' },
    auth: { jwtSecret: '[redacted]', operatorToken: '[redacted]' },
    operator: { token: '[redacted]' },
    jobs: { maxAttempts: config.jobs.maxAttempts },
  });
});

test('only admins may read the configuration', async (t) => {
  const server = await startAdmin(configRoutes({ config: await secretConfig() }));
  t.teardown(() => server.close());
  t.is((await server.call('GET', '/config', { token: 'viewer-token' })).status, 403);
  t.is((await server.call('GET', '/config', { token: 'operator-token' })).status, 403);
  t.is((await server.call('GET', '/config')).status, 401);
});
