import test from 'ava';
import { InvalidUpstreamResponse, UpstreamBackingOff, UpstreamTimeout, UpstreamUnavailable } from '../../server/src/upstream/errors.js';
import { NotFound } from '../../server/src/errors.js';
import { UpstreamHealth } from '../../server/src/pull/upstream-health.js';

const HOST = 'registry.example.com';

/** What the HTTP client throws after a 429/503 it did not retry: the parsed Retry-After is on the cause. */
function rateLimited(status: number, retryAfterMs?: number): UpstreamUnavailable {
  const cause = Object.assign(new Error(`answered ${status}`), { details: { status, retryAfterMs } });
  return new UpstreamUnavailable(`GET https://${HOST}/ failed after 1 attempt(s)`, { url: `https://${HOST}/`, status, attempts: 1 }, { cause });
}

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

const fail = (err: Error) => () => Promise.reject(err);
const ok = () => Promise.resolve('ok');

test('429 with Retry-After: nothing is sent until then, and the refusal says how long to wait', async (t) => {
  const c = clock();
  const health = new UpstreamHealth({ now: c.now });
  const first = await t.throwsAsync(health.run(HOST, fail(rateLimited(429, 2000))), { instanceOf: UpstreamBackingOff });
  t.is(first.retryAfterSeconds, 2);
  t.true(first.cause instanceof UpstreamUnavailable, 'the upstream answer is kept as the cause');
  let sent = 0;
  const send = async () => {
    sent++;
    return 'ok';
  };
  c.t += 1999;
  const refused = await t.throwsAsync(health.run(HOST, send), { instanceOf: UpstreamBackingOff });
  t.is(refused.retryAfterSeconds, 1);
  t.is(sent, 0);
  t.is(health.state(HOST).state, 'backing_off');
  c.t += 1;
  t.is(await health.run(HOST, send), 'ok');
  t.is(sent, 1);
  t.deepEqual(health.state(HOST), { hostname: HOST, state: 'up', consecutiveFailures: 0 });
});

test('503 with Retry-After is honoured like 429', async (t) => {
  const c = clock();
  const health = new UpstreamHealth({ now: c.now });
  await t.throwsAsync(health.run(HOST, fail(rateLimited(503, 30_000))), { instanceOf: UpstreamBackingOff });
  t.is(health.state(HOST).retryAt, c.t + 30_000);
});

test('without Retry-After consecutive failures back off 1 s, 2 s, 4 s up to the cap, and a success resets', async (t) => {
  const c = clock();
  const health = new UpstreamHealth({ now: c.now, backoffCapMs: 4000 });
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    await t.throwsAsync(health.run(HOST, fail(new UpstreamTimeout('timed out', { url: `https://${HOST}/` }))), { instanceOf: UpstreamTimeout });
    const s = health.state(HOST);
    waits.push((s.retryAt ?? c.t) - c.t);
    c.t = s.retryAt ?? c.t;
  }
  t.deepEqual(waits, [1000, 2000, 4000, 4000, 4000]);
  t.is(health.state(HOST).consecutiveFailures, 5);
  await health.run(HOST, ok);
  t.is(health.state(HOST).consecutiveFailures, 0);
});

test('after a backoff one request probes the upstream; the others are refused until it answers', async (t) => {
  const c = clock();
  const health = new UpstreamHealth({ now: c.now });
  await t.throwsAsync(health.run(HOST, fail(rateLimited(500))));
  c.t += 1000;
  let finish!: (v: string) => void;
  const probe = health.run(HOST, () => new Promise<string>((resolve) => (finish = resolve)));
  await t.throwsAsync(health.run(HOST, ok), { instanceOf: UpstreamBackingOff });
  finish('back');
  t.is(await probe, 'back');
  t.is(await health.run(HOST, ok), 'ok');
});

const answers: [string, Error][] = [
  ['NotFound', new NotFound('provider not found upstream')],
  ['an invalid answer', new InvalidUpstreamResponse(`https://${HOST}/v1/`, 'not JSON')],
  ['an aborted request', Object.assign(new Error('aborted'), { name: 'AbortError' })],
];
for (const [name, err] of answers) {
  test(`${name} does not count as an upstream failure`, async (t) => {
    const health = new UpstreamHealth({ now: clock().now });
    await t.throwsAsync(health.run(HOST, fail(err)), { is: err });
    t.is(health.state(HOST).state, 'up');
    t.is(await health.run(HOST, ok), 'ok');
  });
}

test('health is kept per upstream', async (t) => {
  const health = new UpstreamHealth({ now: clock().now });
  await t.throwsAsync(health.run(HOST, fail(rateLimited(429, 60_000))));
  t.is(await health.run('other.example.com', ok), 'ok');
  t.is(health.state('other.example.com').state, 'up');
});

test('an overlong Retry-After is capped', async (t) => {
  const c = clock();
  const health = new UpstreamHealth({ now: c.now, retryAfterCapMs: 10_000 });
  await t.throwsAsync(health.run(HOST, fail(rateLimited(429, 86_400_000))));
  t.is(health.state(HOST).retryAt, c.t + 10_000);
});
