import test from 'ava';
import { VerifiersBusy, VerifySlots } from '../../../server/src/admin/auth/verify-slots.js';
import { TooManyRequests, Unauthorized } from '../../../server/src/errors.js';
import { PASSWORD, setup } from './helpers.js';

test('concurrent sign-ins beyond max_concurrent_logins are refused with 429 at once, not queued', async (t) => {
  // Cost 8 makes each compare take long enough that "at once" is observable as an order.
  const s = await setup({ maxConcurrentLogins: 2 }, { passwords: { cost: 8, allowInsecureCost: true } });
  await s.addUser('alice');
  const settled: string[] = [];
  const attempts = Array.from({ length: 12 }, (_, i) =>
    s.auth.login('alice', i === 0 ? PASSWORD : 'Wrong-password-123', { ip: `203.0.113.${i}`, userAgent: 'x' }).then(
      () => settled.push('signed-in'),
      (err: unknown) => settled.push(err instanceof VerifiersBusy ? 'busy' : err instanceof Unauthorized ? 'wrong' : String(err)),
    ),
  );
  await Promise.all(attempts);
  t.is(settled.filter((r) => r === 'busy').length, 10, settled.join());
  t.deepEqual(settled.slice(0, 10), Array(10).fill('busy'), 'every refusal came before any verification finished');
  t.deepEqual(settled.slice(10).sort(), ['signed-in', 'wrong']);
  t.is(s.auth.slots.inUse, 0, 'every slot was given back');
});

test('a busy refusal is a 429 with Retry-After 1 and is not counted as a failed login', async (t) => {
  const s = await setup({ maxConcurrentLogins: 1 });
  await s.addUser('alice');
  const first = s.auth.login('alice', 'Wrong-password-123', { ip: '203.0.113.1', userAgent: 'x' }).catch(() => undefined);
  const err = await t.throwsAsync(s.auth.login('alice', 'Wrong-password-123', { ip: '203.0.113.2', userAgent: 'x' }), { instanceOf: TooManyRequests });
  t.is((err as TooManyRequests).retryAfterSeconds, 1);
  await first;
  t.is(s.repos.loginFailures.countForUsername('alice', 0).count, 1, 'only the verified attempt counts');
});

test('a slot released twice is given back once', (t) => {
  const slots = new VerifySlots(1);
  const release = slots.acquire();
  release();
  release();
  t.is(slots.inUse, 0);
  slots.acquire();
  t.throws(() => slots.acquire(), { instanceOf: VerifiersBusy });
});

test('max_concurrent_logins 0 means twice the CPU cores', async (t) => {
  const s = await setup({ maxConcurrentLogins: 0 });
  t.true(s.auth.slots.max >= 2);
});
