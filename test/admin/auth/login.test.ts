import test from 'ava';
import { LOGIN_FAILED } from '../../../server/src/admin/auth/service.js';
import { Unauthorized } from '../../../server/src/errors.js';
import { UserRepository } from '../../../server/src/db/users.js';
import { SessionRepository } from '../../../server/src/db/sessions.js';
import { CLIENT, PASSWORD, T0, setup } from './helpers.js';

const HOUR = 3_600_000;

test('a correct password returns a token that authenticates as the user', async (t) => {
  const s = await setup();
  const id = await s.addUser('alice');
  const result = await s.auth.login('alice', PASSWORD, CLIENT);
  t.is(result.expiresAt, new Date(T0 + 12 * HOUR).toISOString());
  t.like(result.user, { id, username: 'alice', role: 'admin' });
  t.false('passwordHash' in result.user);
  const principal = await s.auth.authenticate(result.token);
  t.like(principal, { kind: 'user', actor: 'user:alice', role: 'admin', userId: id });
  t.is(typeof principal?.sessionId, 'string');
});

test('usernames are matched without regard to letter case', async (t) => {
  const s = await setup();
  await s.addUser('Alice');
  const result = await s.auth.login('ALICE', PASSWORD, CLIENT);
  t.like(await s.auth.authenticate(result.token), { actor: 'user:Alice' });
});

test('a wrong password and an unknown user get the same 401 message', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  const wrong = await t.throwsAsync(s.auth.login('alice', 'Not-the-password-1', CLIENT), { instanceOf: Unauthorized });
  const unknown = await t.throwsAsync(s.auth.login('mallory', PASSWORD, CLIENT), { instanceOf: Unauthorized });
  t.is(wrong?.message, LOGIN_FAILED);
  t.is(unknown?.message, LOGIN_FAILED);
});

test('a disabled user gets the same message even with the right password', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  const { token } = await s.auth.login('alice', PASSWORD, CLIENT);
  s.db.exec(`UPDATE users SET disabled = 1 WHERE username = 'alice'`);
  const err = await t.throwsAsync(s.auth.login('alice', PASSWORD, CLIENT), { instanceOf: Unauthorized });
  t.is(err?.message, LOGIN_FAILED);
  t.is(await s.auth.authenticate(token), undefined, 'an existing session of a disabled user stops working too');
});

test('a login records its time, client address and user agent', async (t) => {
  const s = await setup();
  const id = await s.addUser('alice');
  s.clock.advance(5_000);
  await s.auth.login('alice', PASSWORD, CLIENT);
  t.like(new UserRepository(s.db).get(id), { lastLoginAt: T0 + 5_000, lastLoginIp: CLIENT.ip, lastLoginAgent: CLIENT.userAgent });
});

test('logout revokes the session: the token no longer authenticates', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  const { token } = await s.auth.login('alice', PASSWORD, CLIENT);
  const principal = await s.auth.authenticate(token);
  t.true(s.auth.logout(principal!.sessionId!));
  t.is(await s.auth.authenticate(token), undefined);
  t.false(s.auth.logout(principal!.sessionId!), 'logging out twice changes nothing');
});

test('a session stops authenticating when it expires', async (t) => {
  const s = await setup({}, { sessionTtlMs: 2 * HOUR });
  await s.addUser('alice');
  const { token } = await s.auth.login('alice', PASSWORD, CLIENT);
  s.clock.advance(2 * HOUR - 1_000);
  t.truthy(await s.auth.authenticate(token));
  s.clock.advance(1_000);
  t.is(await s.auth.authenticate(token), undefined);
});

test('each login is its own session; revoking one leaves the other', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  const a = await s.auth.login('alice', PASSWORD, CLIENT);
  const b = await s.auth.login('alice', PASSWORD, { ip: '198.51.100.7', userAgent: 'other' });
  const pa = (await s.auth.authenticate(a.token))!;
  t.deepEqual(s.auth.listSessions(pa.userId!).map((x) => x.ip).sort(), ['192.0.2.10', '198.51.100.7']);
  s.auth.revokeSession(pa, pa.sessionId!);
  t.is(await s.auth.authenticate(a.token), undefined);
  t.truthy(await s.auth.authenticate(b.token));
  t.is(s.auth.listSessions(pa.userId!).length, 1, 'revoked sessions are not listed');
});

test("a non-admin cannot revoke another user's session, and learns nothing about it", async (t) => {
  const s = await setup();
  await s.addUser('alice', 'admin');
  await s.addUser('victor', 'viewer');
  const alice = (await s.auth.authenticate((await s.auth.login('alice', PASSWORD, CLIENT)).token))!;
  const victor = (await s.auth.authenticate((await s.auth.login('victor', PASSWORD, CLIENT)).token))!;
  const denied = t.throws(() => s.auth.revokeSession(victor, alice.sessionId!));
  const missing = t.throws(() => s.auth.revokeSession(victor, 'no-such-session'));
  t.is(denied?.constructor, missing?.constructor);
  t.is(denied?.message.replace(alice.sessionId!, 'X'), missing?.message.replace('no-such-session', 'X'));
  s.auth.revokeSession(alice, victor.sessionId!);
  t.is(s.auth.listSessions(victor.userId!).length, 0, 'an admin may revoke anyone');
});

test('session last-seen time is written at most once a minute', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  const { token } = await s.auth.login('alice', PASSWORD, CLIENT);
  const sessions = new SessionRepository(s.db);
  const jti = (await s.auth.authenticate(token))!.sessionId!;
  t.is(sessions.find(jti)?.lastSeenAt, T0);
  s.clock.advance(30_000);
  await s.auth.authenticate(token);
  t.is(sessions.find(jti)?.lastSeenAt, T0, 'not rewritten within the minute');
  s.clock.advance(30_000);
  await s.auth.authenticate(token);
  t.is(sessions.find(jti)?.lastSeenAt, T0 + 60_000);
});

test('creating a user that exists in another letter case is a conflict', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  await t.throwsAsync(s.addUser('ALICE'), { message: /already exists/ });
});
