import { createHash } from 'node:crypto';
import test from 'ava';
import { BootstrapToken } from '../../../server/src/admin/auth/tokens.js';
import type { Principal } from '../../../server/src/admin/principal.js';
import { NotFound } from '../../../server/src/errors.js';
import { setup } from './helpers.js';

const admin: Principal = { kind: 'user', actor: 'user:alice', role: 'admin', userId: 1 };
const DAY = 86_400_000;

/** A service with user 1 (alice) in place: tokens record who created them. */
async function withAdmin() {
  const s = await setup();
  await s.addUser('alice');
  return s;
}

test('a created API token authenticates with its role until it is revoked', async (t) => {
  const s = await withAdmin();
  const { token, row } = s.auth.createToken(admin, { name: 'ci', role: 'operator' });
  t.regex(token, /^tfm_[A-Za-z0-9_-]{43}$/);
  t.is(row.prefix, token.slice(4, 12));
  t.like(row, { name: 'ci', role: 'operator', createdBy: 1, expiresAt: null, revokedAt: null });
  t.deepEqual(await s.auth.authenticate(token), { kind: 'token', actor: `token:ci#${row.id}`, role: 'operator', tokenId: row.id });
  s.auth.revokeToken(row.id);
  t.is(await s.auth.authenticate(token), undefined);
});

test('the database stores the sha256 of a token, never the token', async (t) => {
  const s = await withAdmin();
  const { token } = s.auth.createToken(admin, { name: 'ci', role: 'viewer' });
  const stored = s.db.prepare('SELECT * FROM api_tokens').get() as Record<string, unknown>;
  t.not(stored.token_hash, token);
  t.is(stored.token_hash, createHash('sha256').update(token).digest('hex'));
  t.false(Object.values(stored).some((v) => typeof v === 'string' && v.includes(token.slice(4))), 'no column holds the secret');
});

test('listed tokens carry neither the secret nor its hash', async (t) => {
  const s = await withAdmin();
  s.auth.createToken(admin, { name: 'ci', role: 'viewer' });
  const [listed] = s.auth.listTokens();
  t.deepEqual(Object.keys(listed!).sort(), ['createdAt', 'createdBy', 'expiresAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'role']);
});

test('a token stops authenticating when it expires', async (t) => {
  const s = await withAdmin();
  const { token, row } = s.auth.createToken(admin, { name: 'short', role: 'viewer', expiresInDays: 1 });
  t.is(row.expiresAt, s.clock.now() + DAY);
  s.clock.advance(DAY - 1);
  t.truthy(await s.auth.authenticate(token));
  s.clock.advance(1);
  t.is(await s.auth.authenticate(token), undefined);
});

test('a well-formed but unknown token is rejected', async (t) => {
  const s = await setup();
  t.is(await s.auth.authenticate(`tfm_${'A'.repeat(43)}`), undefined);
});

test('revoking an unknown token is NotFound; revoking twice keeps the first time', async (t) => {
  const s = await withAdmin();
  t.throws(() => s.auth.revokeToken(99), { instanceOf: NotFound });
  const { row } = s.auth.createToken(admin, { name: 'ci', role: 'viewer' });
  const first = s.auth.revokeToken(row.id).revokedAt;
  s.clock.advance(5_000);
  t.is(s.auth.revokeToken(row.id).revokedAt, first);
});

test('token use is recorded, at most once a minute', async (t) => {
  const s = await withAdmin();
  const { token, row } = s.auth.createToken(admin, { name: 'ci', role: 'viewer' });
  await s.auth.authenticate(token);
  const t0 = s.clock.now();
  s.clock.advance(10_000);
  await s.auth.authenticate(token);
  t.is(s.auth.listTokens().find((x) => x.id === row.id)?.lastUsedAt, t0);
});

test('the configured bootstrap token authenticates as the operator', async (t) => {
  const s = await setup({ operatorToken: 'bootstrap-secret-value' });
  t.deepEqual(await s.auth.authenticate('bootstrap-secret-value'), { kind: 'bootstrap', actor: 'operator-token', role: 'operator' });
});

test('a wrong bootstrap token, or any token when none is configured, is rejected', async (t) => {
  const s = await setup({ operatorToken: 'bootstrap-secret-value' });
  for (const wrong of ['bootstrap-secret-valuE', 'bootstrap-secret-value ', 'bootstrap', '']) {
    t.is(await s.auth.authenticate(wrong), undefined, wrong);
  }
  const none = new BootstrapToken('');
  t.false(none.enabled);
  t.false(none.matches(''));
});
