import { createHmac } from 'node:crypto';
import test from 'ava';
import { SignJWT, decodeJwt, type JWTPayload } from 'jose';
import { CLIENT, PASSWORD, T0, setup, type Setup } from './helpers.js';

/** A signed-in user plus the claims of their real token, to tamper with. */
async function signedIn(): Promise<{ s: Setup; token: string; claims: JWTPayload }> {
  const s = await setup();
  await s.addUser('alice');
  const { token } = await s.auth.login('alice', PASSWORD, CLIENT);
  return { s, token, claims: decodeJwt(token) };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Builds a token by hand, so the header can say anything. */
function handMade(header: Record<string, unknown>, claims: JWTPayload, key?: Uint8Array, hmac = 'sha256'): string {
  const signingInput = `${b64(header)}.${b64(claims)}`;
  const signature = key ? createHmac(hmac, key).update(signingInput).digest('base64url') : '';
  return `${signingInput}.${signature}`;
}

function resign(secret: Uint8Array, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secret);
}

test('control: the same claims re-signed with the right key and HS256 authenticate', async (t) => {
  const { s, claims } = await signedIn();
  t.like(await s.auth.authenticate(await resign(s.secret, claims)), { actor: 'user:alice' });
  t.like(await s.auth.authenticate(handMade({ alg: 'HS256', typ: 'JWT' }, claims, s.secret)), { actor: 'user:alice' });
});

test('a token signed with another secret is rejected', async (t) => {
  const { s, claims } = await signedIn();
  t.is(await s.auth.authenticate(await resign(new TextEncoder().encode('x'.repeat(32)), claims)), undefined);
});

test('a token whose payload was altered after signing is rejected', async (t) => {
  const { s, token } = await signedIn();
  const [header, , signature] = token.split('.');
  const payload = b64({ ...decodeJwt(token), role: 'admin', sub: '2' });
  t.is(await s.auth.authenticate(`${header}.${payload}.${signature}`), undefined);
});

test('an unsigned alg=none token is rejected', async (t) => {
  const { s, claims } = await signedIn();
  t.is(await s.auth.authenticate(handMade({ alg: 'none', typ: 'JWT' }, claims)), undefined);
  t.is(await s.auth.authenticate(handMade({ alg: 'none' }, claims)), undefined);
});

test('a token signed with HS512 and the same secret is rejected', async (t) => {
  const { s, claims } = await signedIn();
  t.is(await s.auth.authenticate(handMade({ alg: 'HS512', typ: 'JWT' }, claims, s.secret, 'sha512')), undefined);
});

test('an RS256 header over an HMAC made with the secret is rejected (key confusion)', async (t) => {
  const { s, claims } = await signedIn();
  t.is(await s.auth.authenticate(handMade({ alg: 'RS256', typ: 'JWT' }, claims, s.secret)), undefined);
});

test('a token past its exp is rejected even while the session row lives', async (t) => {
  const { s, claims } = await signedIn();
  const now = Math.floor(T0 / 1000);
  t.is(await s.auth.authenticate(await resign(s.secret, { ...claims, exp: now - 1 })), undefined);
});

test('a token whose nbf is in the future is rejected', async (t) => {
  const { s, claims } = await signedIn();
  t.is(await s.auth.authenticate(await resign(s.secret, { ...claims, nbf: Math.floor(T0 / 1000) + 3600 })), undefined);
});

test('a token from another issuer, or missing a required claim, is rejected', async (t) => {
  const { s, claims } = await signedIn();
  t.is(await s.auth.authenticate(await resign(s.secret, { ...claims, iss: 'someone-else' })), undefined);
  for (const claim of ['jti', 'sub', 'exp', 'nbf', 'iat'] as const) {
    const without = { ...claims };
    delete without[claim];
    t.is(await s.auth.authenticate(await resign(s.secret, without)), undefined, `without ${claim}`);
  }
});

test("a valid signature over another user's id does not borrow the session", async (t) => {
  const { s, claims } = await signedIn();
  await s.addUser('bob', 'viewer');
  t.is(await s.auth.authenticate(await resign(s.secret, { ...claims, sub: '2' })), undefined);
});

test('a correctly signed token for a session that never existed is rejected', async (t) => {
  const { s, claims } = await signedIn();
  t.is(await s.auth.authenticate(await resign(s.secret, { ...claims, jti: 'AAAAAAAAAAAAAAAAAAAAAA' })), undefined);
});

test('the role comes from the user row, not from the token', async (t) => {
  const { s, token } = await signedIn();
  s.db.exec(`UPDATE users SET role = 'viewer' WHERE username = 'alice'`);
  t.like(await s.auth.authenticate(token), { role: 'viewer' });
});

test('the token carries the documented claims', async (t) => {
  const { claims } = await signedIn();
  const iat = Math.floor(T0 / 1000);
  t.like(claims, { sub: '1', iss: 'terraform-mirror', role: 'admin', iat, nbf: iat, exp: iat + 12 * 3600 });
  t.regex(String(claims.jti), /^[A-Za-z0-9_-]{22}$/, '128 random bits in base64url');
});

test('garbage bearers are rejected without throwing', async (t) => {
  const { s } = await signedIn();
  for (const bearer of ['', 'a.b.c', '..', 'tfm_short', 'Bearer x', 'x'.repeat(5000)]) {
    t.is(await s.auth.authenticate(bearer), undefined, bearer.slice(0, 20));
  }
});
