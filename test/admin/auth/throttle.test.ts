import test from 'ava';
import { LoginThrottle } from '../../../server/src/admin/auth/throttle.js';
import { openDatabase } from '../../../server/src/db/database.js';
import { LoginFailureRepository } from '../../../server/src/db/users.js';
import { TooManyRequests, Unauthorized } from '../../../server/src/errors.js';
import { CLIENT, PASSWORD, T0, manualClock, setup, type Setup } from './helpers.js';

const WRONG = 'Wrong-password-123';

async function failTimes(s: Setup, n: number, username = 'alice', ip = CLIENT.ip): Promise<void> {
  for (let i = 0; i < n; i++) {
    await s.auth.login(username, WRONG, { ip, userAgent: 'x' }).catch((err: unknown) => {
      if (!(err instanceof Unauthorized)) throw err;
    });
  }
}

async function retryAfter(s: Setup, username: string, ip = CLIENT.ip, password = WRONG): Promise<number | undefined> {
  try {
    await s.auth.login(username, password, { ip, userAgent: 'x' });
    return undefined;
  } catch (err) {
    if (err instanceof TooManyRequests) return err.retryAfterSeconds;
    if (err instanceof Unauthorized) return undefined;
    throw err;
  }
}

test('after 5 failures for a username each further attempt waits 1 s, 2 s, 4 s, 8 s after the last failure', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  await failTimes(s, 5);
  const waits: number[] = [];
  for (let i = 0; i < 4; i++) {
    const wait = await retryAfter(s, 'alice');
    t.truthy(wait, `attempt ${6 + i} is throttled`);
    waits.push(wait!);
    s.clock.advance(wait! * 1000);
    t.is(await retryAfter(s, 'alice'), undefined, 'after the wait the attempt reaches the password check');
  }
  t.deepEqual(waits, [1, 2, 4, 8]);
});

test('four failures do not throttle', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  await failTimes(s, 4);
  t.is(await retryAfter(s, 'alice'), undefined);
});

test('a throttled attempt is refused before the password is checked, even a correct one', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  await failTimes(s, 5);
  await t.throwsAsync(s.auth.login('alice', PASSWORD, CLIENT), { instanceOf: TooManyRequests });
});

test('five failures throttle that username from that address only', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  await failTimes(s, 5, 'alice', '203.0.113.1');
  t.is(await retryAfter(s, 'alice', '203.0.113.1'), 1);
  t.is(await retryAfter(s, 'alice', '203.0.113.99'), undefined, 'the same username from elsewhere is not throttled');
  t.is(await retryAfter(s, 'bob', '203.0.113.1'), undefined, 'other usernames from that address are unaffected');
});

test('an attacker at one address cannot lock the real admin out from another address', async (t) => {
  const s = await setup();
  await s.addUser('admin');
  // Guess for an hour from one address, as fast as the throttle lets through.
  for (let minute = 0; minute < 60; minute++) {
    for (let i = 0; i < 10; i++) await retryAfter(s, 'admin', '203.0.113.66');
    s.clock.advance(60_000);
  }
  t.truthy(await retryAfter(s, 'admin', '203.0.113.66'), 'the attacker is throttled');
  const signedIn = await s.auth.login('admin', PASSWORD, { ip: '198.51.100.10', userAgent: 'browser' });
  t.truthy(signedIn.token, 'the admin signs in from their own address');
});

test('past the per-username ceiling (100 in the window) every address waits', async (t) => {
  const s = await setup();
  await s.addUser('admin');
  // Many addresses, each staying under its own limits.
  for (let a = 0; a < 25; a++) await failTimes(s, 4, 'admin', `203.0.113.${a}`);
  t.is(await retryAfter(s, 'admin', '198.51.100.10', PASSWORD), 1);
  t.is(await retryAfter(s, 'someone-else', '198.51.100.10'), undefined);
});

test('20 failures from one address across usernames throttle that address only', async (t) => {
  const s = await setup();
  for (let i = 0; i < 20; i++) await failTimes(s, 1, `user${i}`, '203.0.113.5');
  t.is(await retryAfter(s, 'fresh-name', '203.0.113.5'), 1);
  t.is(await retryAfter(s, 'fresh-name', '203.0.113.6'), undefined);
  s.clock.advance(1_000);
  await failTimes(s, 1, 'another', '203.0.113.5');
  t.is(await retryAfter(s, 'fresh-name', '203.0.113.5'), 2, 'the address delay grows too');
});

test("a successful login clears the username's failures from that address", async (t) => {
  const s = await setup();
  await s.addUser('alice');
  await failTimes(s, 4);
  await s.auth.login('alice', PASSWORD, CLIENT);
  await failTimes(s, 4);
  t.is(await retryAfter(s, 'alice'), undefined, 'four new failures alone do not throttle');
});

test("a successful login elsewhere does not clear the failures counting towards the username's ceiling", (t) => {
  const db = openDatabase(':memory:');
  const failures = new LoginFailureRepository(db);
  const throttle = new LoginThrottle(failures, { now: () => T0 });
  for (let i = 0; i < 3; i++) failures.record('alice', '203.0.113.1', T0);
  throttle.recordSuccess('alice', '198.51.100.1');
  t.is(failures.countForUsername('alice', 0).count, 3);
  throttle.recordSuccess('alice', '203.0.113.1');
  t.is(failures.countForUsername('alice', 0).count, 0);
});

test('failures older than the 15 minute window no longer count', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  await failTimes(s, 5);
  s.clock.advance(15 * 60_000 + 1);
  await failTimes(s, 4);
  t.is(await retryAfter(s, 'alice'), undefined);
});

test('delays are capped at 15 minutes and old rows are pruned', (t) => {
  const db = openDatabase(':memory:');
  const failures = new LoginFailureRepository(db);
  const clock = manualClock();
  const throttle = new LoginThrottle(failures, { now: clock.now });
  for (let i = 0; i < 60; i++) failures.record('alice', '198.51.100.1', T0);
  t.is(throttle.waitMs('alice', '198.51.100.1'), 15 * 60_000);
  clock.advance(16 * 60_000);
  throttle.recordFailure('bob', '198.51.100.2');
  t.is(failures.countForUsername('alice', 0).count, 0, 'rows past the window are deleted');
  t.is(failures.countForUsername('bob', 0).count, 1);
});

test('a second concurrent attempt for one username from one address is refused while the first is in flight', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  const results = await Promise.allSettled([1, 2, 3].map(() => s.auth.login('alice', WRONG, CLIENT)));
  const kinds = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).constructor.name : 'ok'));
  t.deepEqual(kinds, ['Unauthorized', 'LoginThrottled', 'LoginThrottled']);
  t.is(await retryAfter(s, 'alice'), undefined, 'the slot is released after the attempt');
});

test('a burst for one username from other addresses does not block the real user', async (t) => {
  const s = await setup();
  await s.addUser('alice');
  const burst = [1, 2, 3].map((i) => s.auth.login('alice', WRONG, { ip: `203.0.113.${i}`, userAgent: 'x' }));
  const mine = s.auth.login('alice', PASSWORD, CLIENT);
  await Promise.allSettled(burst);
  t.truthy((await mine).token);
});
