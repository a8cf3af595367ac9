import test from 'ava';
import { PASSWORD, serveUsers } from './helpers.js';

const NEW_PASSWORD = 'Another-long-passphrase-7';

test('admins create users (201), a taken name in any letter case is 409, a weak password 400; viewers may not', async (t) => {
  const { s, call, login, audit } = await serveUsers(t);
  await s.addUser('alice');
  await s.addUser('victor', 'viewer');
  const admin = await login('alice');
  const created = await call('POST', '/users', { token: admin, body: { username: 'bob', password: PASSWORD, role: 'operator' } });
  t.is(created.status, 201);
  t.like(created.body, { username: 'bob', role: 'operator', disabled: false, lastLoginAt: null });
  t.false(JSON.stringify(created.body).includes('$2b$'), 'no hash in the response');
  t.like(audit.at(-1), { action: 'user.create', actor: 'user:alice', resource: `user:${created.body!.id}` });
  t.false(JSON.stringify(audit).includes(PASSWORD), 'the password is never audited');
  t.is((await call('POST', '/users', { token: admin, body: { username: 'BOB', password: PASSWORD } })).status, 409);
  t.is((await call('POST', '/users', { token: admin, body: { username: 'carol', password: 'short' } })).status, 400);
  t.is((await call('POST', '/users', { token: await login('victor'), body: { username: 'dave', password: PASSWORD } })).status, 403);
  const list = await call('GET', '/users', { token: admin });
  t.deepEqual(list.body!.users.map((u: { username: string }) => u.username), ['alice', 'bob', 'victor']);
  t.is((await login('bob')).length > 0, true, 'the new user signs in');
});

test('a disabled user cannot sign in, and their sessions and API tokens stop on the next request', async (t) => {
  const { s, call, login } = await serveUsers(t);
  await s.addUser('alice');
  const bobId = await s.addUser('bob');
  const admin = await login('alice');
  const bobSession = await login('bob');
  const bobToken = (await call('POST', '/tokens', { token: bobSession, body: { name: 'bob-ci', role: 'viewer' } })).body!.token as string;
  t.is((await call('GET', '/auth/me', { token: bobToken })).status, 200);

  const disabled = await call('PATCH', `/users/${bobId}`, { token: admin, body: { disabled: true } });
  t.is(disabled.status, 200);
  t.true(disabled.body!.disabled);
  t.is((await call('GET', '/auth/me', { token: bobSession })).status, 401, 'the session stops');
  t.is((await call('GET', '/auth/me', { token: bobToken })).status, 401, 'the API token they created stops');
  t.is((await call('POST', '/auth/login', { body: { username: 'bob', password: PASSWORD } })).status, 401);

  await call('PATCH', `/users/${bobId}`, { token: admin, body: { disabled: false } });
  t.is((await call('GET', '/auth/me', { token: bobSession })).status, 401, 're-enabling does not bring old sessions back');
  t.is((await call('GET', '/auth/me', { token: bobToken })).status, 200, 'the token works again with its owner');
  t.truthy(await login('bob'));
});

test('deleting a user ends their sessions and revokes the API tokens they created', async (t) => {
  const { s, call, login, audit } = await serveUsers(t);
  await s.addUser('alice');
  const bobId = await s.addUser('bob');
  const admin = await login('alice');
  const bobSession = await login('bob');
  const bobToken = (await call('POST', '/tokens', { token: bobSession, body: { name: 'bob-ci', role: 'viewer' } })).body!.token as string;
  t.is((await call('DELETE', `/users/${bobId}`, { token: admin })).status, 204);
  t.like(audit.at(-1), { action: 'user.delete', resource: `user:${bobId}`, outcome: 'success' });
  t.is((await call('GET', '/auth/me', { token: bobSession })).status, 401);
  t.is((await call('GET', '/auth/me', { token: bobToken })).status, 401);
  const tokens = await call('GET', '/tokens', { token: admin });
  t.truthy(tokens.body!.tokens[0].revokedAt, 'the token shows as revoked');
  t.is((await call('GET', `/users/${bobId}`, { token: admin })).status, 404);
  t.is((await call('DELETE', `/users/${bobId}`, { token: admin })).status, 404);
});

test('nobody deletes themselves, and the last enabled admin cannot be disabled, demoted or deleted', async (t) => {
  const { s, call, login } = await serveUsers(t);
  const aliceId = await s.addUser('alice');
  const admin = await login('alice');
  t.is((await call('DELETE', `/users/${aliceId}`, { token: admin })).status, 409);
  t.is((await call('PATCH', `/users/${aliceId}`, { token: admin, body: { disabled: true } })).status, 409);
  t.is((await call('PATCH', `/users/${aliceId}`, { token: admin, body: { role: 'viewer' } })).status, 409);
  const bobId = await s.addUser('bob', 'viewer');
  t.is((await call('PATCH', `/users/${aliceId}`, { token: admin, body: { role: 'viewer' } })).status, 409, 'bob is no admin yet');
  t.is((await call('PATCH', `/users/${bobId}`, { token: admin, body: { role: 'admin' } })).status, 200);
  t.is((await call('PATCH', `/users/${aliceId}`, { token: admin, body: { role: 'viewer' } })).status, 200);
  t.is((await call('PATCH', `/users/${aliceId}`, { token: admin, body: {} })).status, 403, 'alice is a viewer now, at once');
});

test('changing your own password needs the current one, keeps this session and revokes the others', async (t) => {
  const { s, call, login } = await serveUsers(t);
  const victorId = await s.addUser('victor', 'viewer');
  const here = await login('victor');
  const elsewhere = await login('victor');
  t.is((await call('PATCH', `/users/${victorId}/password`, { token: here, body: { newPassword: NEW_PASSWORD } })).status, 400);
  t.is((await call('PATCH', `/users/${victorId}/password`, { token: here, body: { currentPassword: 'Wrong-password-1', newPassword: NEW_PASSWORD } })).status, 403);
  t.is((await call('PATCH', `/users/${victorId}/password`, { token: here, body: { currentPassword: PASSWORD, newPassword: 'weak' } })).status, 400);
  const changed = await call('PATCH', `/users/${victorId}/password`, { token: here, body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } });
  t.is(changed.status, 200);
  t.deepEqual(changed.body, { revokedSessions: 1 });
  t.is((await call('GET', '/auth/me', { token: here })).status, 200);
  t.is((await call('GET', '/auth/me', { token: elsewhere })).status, 401);
  t.is((await call('POST', '/auth/login', { body: { username: 'victor', password: PASSWORD } })).status, 401, 'the old password is gone');
  t.truthy(await login('victor', NEW_PASSWORD));
  t.truthy(s.repos.users.get(victorId).passwordChangedAt);
});

test("wrong current passwords are throttled like sign-ins", async (t) => {
  const { s, call, login } = await serveUsers(t);
  const victorId = await s.addUser('victor', 'viewer');
  const token = await login('victor');
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) {
    statuses.push((await call('PATCH', `/users/${victorId}/password`, { token, body: { currentPassword: `Wrong-password-${i}`, newPassword: NEW_PASSWORD } })).status);
  }
  t.deepEqual(statuses.slice(0, 5), [403, 403, 403, 403, 403]);
  t.is(statuses[5], 429);
});

test("admins reset anyone's password without the current one; others may not touch someone else's", async (t) => {
  const { s, call, login } = await serveUsers(t);
  await s.addUser('alice');
  const victorId = await s.addUser('victor', 'viewer');
  const walterId = await s.addUser('walter', 'viewer');
  const victor = await login('victor');
  t.is((await call('PATCH', `/users/${walterId}/password`, { token: victor, body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } })).status, 403);
  const reset = await call('PATCH', `/users/${victorId}/password`, { token: await login('alice'), body: { newPassword: NEW_PASSWORD } });
  t.deepEqual(reset.body, { revokedSessions: 1 });
  t.is((await call('GET', '/auth/me', { token: victor })).status, 401, "a reset revokes every one of the user's sessions");
  t.truthy(await login('victor', NEW_PASSWORD));
});

test('an admin signs a user out everywhere; their API tokens keep working', async (t) => {
  const { s, call, login, audit } = await serveUsers(t);
  await s.addUser('alice');
  const bobId = await s.addUser('bob');
  const admin = await login('alice');
  const sessions = [await login('bob'), await login('bob')];
  const bobToken = (await call('POST', '/tokens', { token: sessions[0], body: { name: 'bob-ci', role: 'viewer' } })).body!.token as string;
  const res = await call('POST', `/users/${bobId}/sessions/revoke`, { token: admin });
  t.deepEqual(res.body, { revokedSessions: 2 });
  t.like(audit.at(-1), { action: 'user.sessions.revoke', resource: `user:${bobId}` });
  for (const token of sessions) t.is((await call('GET', '/auth/me', { token })).status, 401);
  t.is((await call('GET', '/auth/me', { token: bobToken })).status, 200);
  t.is((await call('POST', '/users/999/sessions/revoke', { token: admin })).status, 404);
  t.is((await call('POST', `/users/${bobId}/sessions/revoke`, { token: bobToken })).status, 403);
});

test('an API token with expiresAt stops at that instant (401); an expiry in the past is refused', async (t) => {
  const { s, call, login } = await serveUsers(t);
  await s.addUser('alice');
  const admin = await login('alice');
  const expiresAt = new Date(s.clock.now() + 60 * 60_000).toISOString();
  const created = await call('POST', '/tokens', { token: admin, body: { name: 'short-lived', role: 'viewer', expiresAt } });
  t.is(created.status, 201);
  t.is(created.body!.expiresAt, expiresAt);
  const token = created.body!.token as string;
  t.is((await call('GET', '/auth/me', { token })).status, 200);
  s.clock.advance(60 * 60_000);
  t.is((await call('GET', '/auth/me', { token })).status, 401);
  const past = await call('POST', '/tokens', { token: admin, body: { name: 'stale', role: 'viewer', expiresAt: new Date(s.clock.now() - 1000).toISOString() } });
  t.is(past.status, 400);
  const both = await call('POST', '/tokens', { token: admin, body: { name: 'x', role: 'viewer', expiresAt, expiresInDays: 1 } });
  t.is(both.status, 400);
});

test("demoting an admin suspends the API tokens they created; promoting them back restores them", async (t) => {
  const { s, call, login } = await serveUsers(t);
  await s.addUser('alice');
  const bobId = await s.addUser('bob');
  const admin = await login('alice');
  const bobToken = (await call('POST', '/tokens', { token: await login('bob'), body: { name: 'bob-admin-ci', role: 'admin' } })).body!.token as string;
  t.is((await call('GET', '/users', { token: bobToken })).status, 200);
  await call('PATCH', `/users/${bobId}`, { token: admin, body: { role: 'viewer' } });
  t.is((await call('GET', '/users', { token: bobToken })).status, 401, 'no admin rights left behind in a token');
  await call('PATCH', `/users/${bobId}`, { token: admin, body: { role: 'admin' } });
  t.is((await call('GET', '/users', { token: bobToken })).status, 200);
});
