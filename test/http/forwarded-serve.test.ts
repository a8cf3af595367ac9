import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import pino from 'pino';
import { startServing } from '../../server/src/commands/serve.js';
import { loadConfig } from '../../server/src/config/load.js';
import { AuditRepository } from '../../server/src/db/audit.js';
import { openDatabase } from '../../server/src/db/database.js';
import { createUser } from '../../server/src/admin/auth/accounts.js';
import { PasswordHasher } from '../../server/src/admin/auth/passwords.js';
import { createRepositories } from '../../server/src/runtime.js';

/** Runs `serve` with tls = false, sends one failed login with a forged X-Forwarded-For, returns the address the audit log recorded. */
async function auditedAddress(t: { teardown(fn: () => void): void }, env: Record<string, string>): Promise<string | null> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-forwarded-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const full = { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_SERVER_TLS: 'false', TFM_AUTH_BCRYPT_COST: '10', ...env };
  const config = await loadConfig({ env: full, cwd: dir });
  const serving = await startServing(config, pino({ level: 'silent' }));
  try {
    const res = await fetch(`${serving.url}admin/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
      body: JSON.stringify({ username: 'nobody', password: 'wrong password 123' }),
    });
    await res.arrayBuffer();
  } finally {
    await serving.shutdown();
  }
  const db = openDatabase(config.database.path);
  try {
    const { items } = new AuditRepository(db).query({ action: 'auth.login', limit: 10, offset: 0 });
    return items[0]?.ip ?? null;
  } finally {
    db.close();
  }
}

test('serve with tls = false and no trusted_proxies records the TCP peer, not X-Forwarded-For', async (t) => {
  t.regex((await auditedAddress(t, {})) ?? '', /127\.0\.0\.1$/);
});

test('serve believes X-Forwarded-For from a peer in server.trusted_proxies', async (t) => {
  t.is(await auditedAddress(t, { TFM_SERVER_TRUSTED_PROXIES: '127.0.0.0/8' }), '203.0.113.9');
});

test('behind a trusted proxy, a guesser at one client address cannot lock the admin out of another', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-forwarded-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_SERVER_TLS: 'false', TFM_AUTH_BCRYPT_COST: '10', TFM_SERVER_TRUSTED_PROXIES: '127.0.0.1' };
  const config = await loadConfig({ env, cwd: dir });
  const password = 'The admin passphrase 2026';
  const db = openDatabase(config.database.path);
  await createUser({ users: createRepositories(db).users, passwords: new PasswordHasher({ cost: 10 }) }, { username: 'admin', password, role: 'admin' }, Date.now());
  db.close();
  const serving = await startServing(config, pino({ level: 'silent' }));
  t.teardown(() => serving.shutdown());
  const login = async (client: string, pw: string) => {
    const res = await fetch(`${serving.url}admin/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
      body: JSON.stringify({ username: 'admin', password: pw }),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const attacker: number[] = [];
  for (let i = 0; i < 8; i++) attacker.push(await login('203.0.113.9', `guess number ${i}`));
  t.is(attacker.at(-1), 429, attacker.join());
  t.is(await login('198.51.100.7', password), 200);
});
