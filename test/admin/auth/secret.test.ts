import test from 'ava';
import { AuthService } from '../../../server/src/admin/auth/service.js';
import { JWT_SECRET_SETTING, resolveJwtSecret } from '../../../server/src/admin/auth/tokens.js';
import { openDatabase } from '../../../server/src/db/database.js';
import { SettingsRepository } from '../../../server/src/db/settings.js';
import { InvalidInput } from '../../../server/src/errors.js';
import { createRepositories } from '../../../server/src/runtime.js';
import { CLIENT, PASSWORD, TEST_PASSWORDS } from './helpers.js';

test('with no configured secret, 32 random bytes are generated once and persisted', (t) => {
  const db = openDatabase(':memory:');
  const settings = new SettingsRepository(db);
  const first = resolveJwtSecret({ jwtSecret: '' }, settings);
  t.is(first.length, 32);
  t.deepEqual(resolveJwtSecret({ jwtSecret: '' }, new SettingsRepository(db)), first);
  t.is(settings.get(JWT_SECRET_SETTING), Buffer.from(first).toString('base64url'));
});

test('a second service on the same database accepts the first one\'s sessions', async (t) => {
  const db = openDatabase(':memory:');
  const config = { jwtSecret: '', operatorToken: '' };
  const first = new AuthService(createRepositories(db), config, { passwords: TEST_PASSWORDS });
  await first.createUser({ username: 'alice', password: PASSWORD, role: 'admin' });
  const { token } = await first.login('alice', PASSWORD, CLIENT);
  const second = new AuthService(createRepositories(db), config, { passwords: TEST_PASSWORDS });
  t.like(await second.authenticate(token), { actor: 'user:alice' });
});

test('a configured secret is used as given and not stored', (t) => {
  const db = openDatabase(':memory:');
  const settings = new SettingsRepository(db);
  const secret = 'k'.repeat(40);
  t.deepEqual(Buffer.from(resolveJwtSecret({ jwtSecret: secret }, settings)), Buffer.from(secret));
  t.is(settings.get(JWT_SECRET_SETTING), undefined);
});

test('a configured secret shorter than 32 bytes is refused', (t) => {
  const db = openDatabase(':memory:');
  t.throws(() => resolveJwtSecret({ jwtSecret: 'short' }, new SettingsRepository(db)), { instanceOf: InvalidInput, message: /at least 32 bytes/ });
});

test('getOrCreate makes the value only when the key is missing', (t) => {
  const settings = new SettingsRepository(openDatabase(':memory:'));
  let made = 0;
  const make = () => `v${++made}`;
  t.is(settings.getOrCreate('k', make), 'v1');
  t.is(settings.getOrCreate('k', make), 'v1');
  t.is(made, 1);
  settings.set('k', 'changed');
  t.is(settings.get('k'), 'changed');
});
