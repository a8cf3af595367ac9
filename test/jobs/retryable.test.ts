import test from 'ava';
import { Conflict, IntegrityError, InvalidInput, LimitExceeded, NotFound, Unavailable } from '../../server/src/errors.js';
import { isRetryable, retryAfterMs } from '../../server/src/jobs/retryable.js';

const cases: { name: string; error: unknown; retryable: boolean }[] = [
  { name: 'a bad checksum or signature will not fix itself', error: new IntegrityError('sha256 mismatch'), retryable: false },
  { name: 'invalid input will not fix itself', error: new InvalidInput('bad platform'), retryable: false },
  { name: 'different bytes under a published version will not fix itself', error: new Conflict('immutable'), retryable: false },
  { name: 'an archive over the limits will not fix itself', error: new LimitExceeded('too big'), retryable: false },
  { name: 'a version upstream does not have will not appear by retrying', error: new NotFound('no such version'), retryable: false },
  { name: 'an unavailable upstream is retried', error: new Unavailable('503'), retryable: true },
  { name: 'a network failure (fetch TypeError) is retried', error: new TypeError('fetch failed'), retryable: true },
  { name: 'a thrown string is retried', error: 'boom', retryable: true },
  { name: 'an error marked retryable = false is not retried', error: Object.assign(new Error('401 from upstream'), { retryable: false }), retryable: false },
  { name: 'the retryable mark overrides the class', error: Object.assign(new NotFound('index not published yet'), { retryable: true }), retryable: true },
];

for (const c of cases) {
  test(`retry: ${c.name}`, (t) => {
    t.is(isRetryable(c.error), c.retryable);
  });
}

test('Retry-After carried by an error is read in milliseconds; anything else is 0', (t) => {
  t.is(retryAfterMs(Object.assign(new Unavailable('429'), { retryAfterMs: 12_000 })), 12_000);
  t.is(retryAfterMs(Object.assign(new Unavailable('429'), { retryAfterMs: -5 })), 0);
  t.is(retryAfterMs(new Unavailable('503')), 0);
  t.is(retryAfterMs(undefined), 0);
});
