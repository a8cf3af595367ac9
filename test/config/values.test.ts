import test from 'ava';
import { didYouMean, editDistance } from '../../server/src/config/problems.js';
import { formatDuration, parseDuration, parseSize } from '../../server/src/config/values.js';

const durations: [number | string, number | undefined][] = [
  [900, 900],
  ['900', 900],
  ['30s', 30],
  ['15m', 900],
  ['1h', 3600],
  ['1h30m', 5400],
  ['7d', 604800],
  [' 2M ', 120],
  [1.5, undefined],
  [-1, undefined],
  ['soon', undefined],
  ['15 m', undefined],
  ['1.5h', undefined],
];
for (const [input, expected] of durations) {
  test(`duration ${JSON.stringify(input)} is ${expected ?? 'rejected'}`, (t) => {
    const r = parseDuration(input);
    if (expected === undefined) t.is(typeof r, 'string');
    else t.is(r, expected);
  });
}

const sizes: [number | string, number | undefined][] = [
  [1024, 1024],
  ['1024', 1024],
  ['2GiB', 2 * 2 ** 30],
  ['500MiB', 500 * 2 ** 20],
  ['10MB', 10_000_000],
  ['10 mb', 10_000_000],
  ['1.5KiB', 1536],
  ['7B', 7],
  [1.5, undefined],
  ['2 gallons', undefined],
  ['GiB', undefined],
  ['99999999TiB', undefined],
];
for (const [input, expected] of sizes) {
  test(`size ${JSON.stringify(input)} is ${expected ?? 'rejected'}`, (t) => {
    const r = parseSize(input);
    if (expected === undefined) t.is(typeof r, 'string');
    else t.is(r, expected);
  });
}

test('durations are shown in the largest whole unit', (t) => {
  t.deepEqual([1, 60, 90, 3600, 604800].map(formatDuration), ['1s', '1m', '90s', '1h', '7d']);
});

test('an adjacent transposition counts as one edit, so typos like listne find listen', (t) => {
  t.is(editDistance('listne', 'listen'), 1);
  t.is(editDistance('', 'abc'), 3);
  t.is(didYouMean('listne', ['public_url', 'listen']), '; did you mean listen?');
  t.is(didYouMean('completely_different', ['listen']), '');
});
