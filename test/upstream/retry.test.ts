import test from 'ava';
import { Semaphore, backoffDelay, parseRetryAfter, realSleep } from '../../server/src/upstream/retry.js';

const NOW = Date.UTC(2030, 0, 1, 0, 0, 0);

const retryAfterCases: [string, string | undefined, number | undefined][] = [
  ['delta seconds', '5', 5000],
  ['zero', '0', 0],
  ['surrounding spaces', ' 12 ', 12_000],
  ['an HTTP date', new Date(NOW + 30_000).toUTCString(), 30_000],
  ['an HTTP date in the past', new Date(NOW - 30_000).toUTCString(), 0],
  ['absent', undefined, undefined],
  ['negative', '-5', undefined],
  ['fractional', '1.5', undefined],
  ['garbage', 'soon', undefined],
  ['a bare number-like string', '0x10', undefined],
];
for (const [name, header, expected] of retryAfterCases) {
  test(`Retry-After with ${name} parses to ${String(expected)}`, (t) => {
    t.is(parseRetryAfter(header, NOW), expected);
  });
}

test('backoff doubles from the base, is capped, and is scaled by the jitter', (t) => {
  const max = () => 1;
  t.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 250, 10_000, max)), [250, 500, 1000, 2000, 4000, 8000, 10_000]);
  t.is(backoffDelay(3, 250, 10_000, () => 0), 0);
  t.is(backoffDelay(3, 250, 10_000, () => 0.5), 500);
});

test('the semaphore admits up to its limit and hands slots over in order', async (t) => {
  const sem = new Semaphore(2);
  const a = await sem.acquire();
  const b = await sem.acquire();
  const order: string[] = [];
  const c = sem.acquire().then((r) => (order.push('c'), r));
  const d = sem.acquire().then((r) => (order.push('d'), r));
  t.is(sem.waiting, 2);
  a();
  a(); // releasing twice gives nothing away
  const releaseC = await c;
  t.deepEqual(order, ['c']);
  t.is(sem.inFlight, 2);
  // A newcomer must not jump ahead of d when b releases.
  b();
  const e = sem.acquire().then((r) => (order.push('e'), r));
  (await d)();
  releaseC();
  (await e)();
  t.deepEqual(order, ['c', 'd', 'e']);
  t.is(sem.inFlight, 0);
  t.is(sem.maxInFlight, 2);
});

test('a waiter that aborts leaves the queue', async (t) => {
  const sem = new Semaphore(1);
  const release = await sem.acquire();
  const controller = new AbortController();
  const waiting = sem.acquire(controller.signal);
  controller.abort();
  const err = await t.throwsAsync(waiting);
  t.is(err.name, 'AbortError');
  t.is(sem.waiting, 0);
  release();
  t.is(sem.inFlight, 0);
});

test('the real sleep can be aborted', async (t) => {
  const controller = new AbortController();
  const sleeping = realSleep(60_000, controller.signal);
  controller.abort();
  const err = await t.throwsAsync(sleeping);
  t.is(err.name, 'AbortError');
});
