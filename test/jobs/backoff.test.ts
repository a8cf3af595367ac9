import test from 'ava';
import { createBackoff, nextAttemptDelay, type BackoffOptions } from '../../server/src/jobs/backoff.js';

const cases: { name: string; attempt: number; options: BackoffOptions; delay: number }[] = [
  { name: 'the first retry waits the base delay', attempt: 1, options: { jitter: 'none' }, delay: 1_000 },
  { name: 'each attempt doubles the delay', attempt: 4, options: { jitter: 'none' }, delay: 8_000 },
  { name: 'the delay is capped at five minutes', attempt: 30, options: { jitter: 'none' }, delay: 300_000 },
  { name: 'a huge attempt count stays at the cap', attempt: 5_000, options: { jitter: 'none' }, delay: 300_000 },
  { name: 'attempt 0 is treated as the first', attempt: 0, options: { jitter: 'none' }, delay: 1_000 },
  { name: 'full jitter can shrink the delay to zero', attempt: 3, options: { jitter: 'full', random: () => 0 }, delay: 0 },
  { name: 'full jitter scales the whole delay', attempt: 3, options: { jitter: 'full', random: () => 0.5 }, delay: 2_000 },
  { name: 'equal jitter keeps at least half the delay', attempt: 3, options: { jitter: 'equal', random: () => 0 }, delay: 2_000 },
  { name: 'equal jitter reaches the full delay at most', attempt: 3, options: { jitter: 'equal', random: () => 0.999999 }, delay: 4_000 },
  { name: 'equal jitter is the default', attempt: 2, options: { random: () => 0 }, delay: 1_000 },
  { name: 'base, factor and cap are configurable', attempt: 3, options: { baseMs: 10, factor: 3, capMs: 50, jitter: 'none' }, delay: 50 },
];

for (const c of cases) {
  test(`backoff: ${c.name}`, (t) => {
    t.is(nextAttemptDelay(c.attempt, c.options), c.delay);
  });
}

test('backoff with real randomness stays within the jitter bounds', (t) => {
  const delay = createBackoff({ jitter: 'equal' });
  for (let i = 0; i < 200; i++) {
    const d = delay(5);
    t.true(d >= 8_000 && d <= 16_000, `${d}`);
  }
});
