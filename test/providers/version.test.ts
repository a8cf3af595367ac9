import test from 'ava';
import { InvalidInput } from '../../server/src/errors.js';
import { compareVersions, isPrerelease, isValidVersion, normalizeVersion } from '../../server/src/providers/version.js';

const valid = [
  '0.0.0',
  '1.2.3',
  '10.20.30',
  '1.0.0-alpha',
  '1.0.0-alpha.1',
  '1.0.0-0.3.7',
  '1.0.0-x.7.z.92',
  '1.0.0-x-y-z.--',
  '1.0.0-alpha+001',
  '1.0.0+20130313144700',
  '1.0.0-beta+exp.sha.5114f85',
  '5.80.0',
];
const invalid = [
  '',
  '1',
  '1.2',
  '1.2.3.4',
  'v1.2.3',
  '=1.2.3',
  ' 1.2.3',
  '01.2.3',
  '1.02.3',
  '1.2.03',
  '1.2.3-01',
  '1.2.3-',
  '1.2.3+',
  '1.2.3-alpha..1',
  '1.2.3+build..1',
  '1.2.3-al_pha',
  '1.2.3/../x',
  '..',
  '99999999999999999999.0.0',
  `1.0.0-${'a'.repeat(200)}`,
];

for (const v of valid) test(`version ${JSON.stringify(v)} is valid`, (t) => t.true(isValidVersion(v)));
for (const v of invalid) test(`version ${JSON.stringify(v)} is invalid`, (t) => t.false(isValidVersion(v)));

test('normalizeVersion strips whitespace and a leading v, keeps build metadata', (t) => {
  t.is(normalizeVersion(' v1.2.3 '), '1.2.3');
  t.is(normalizeVersion('V2.0.0-rc.1+abc'), '2.0.0-rc.1+abc');
  t.is(normalizeVersion('1.2.3'), '1.2.3');
});

test('normalizeVersion rejects what is not semver with a message saying what is allowed', (t) => {
  const err = t.throws(() => normalizeVersion('1.2'), { instanceOf: InvalidInput });
  t.regex(err.message, /MAJOR\.MINOR\.PATCH/);
  t.throws(() => normalizeVersion('vv1.2.3'), { instanceOf: InvalidInput });
  t.throws(() => normalizeVersion('version'), { instanceOf: InvalidInput });
});

test('compareVersions follows semver precedence', (t) => {
  const sorted = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11',
    '1.0.0-rc.1', '1.0.0', '1.0.1', '1.2.0', '1.10.0', '2.0.0'];
  const shuffled = [...sorted].reverse();
  t.deepEqual(shuffled.sort(compareVersions), sorted);
});

test('compareVersions orders build metadata deterministically after precedence', (t) => {
  t.is(compareVersions('1.0.0+a', '1.0.0+a'), 0);
  t.is(compareVersions('1.0.0', '1.0.0+a'), -1);
  t.is(compareVersions('1.0.0+b', '1.0.0+a'), 1);
  t.is(compareVersions('1.0.1+a', '1.0.0+b'), 1);
});

test('compareVersions rejects invalid versions', (t) => {
  t.throws(() => compareVersions('v1.0.0', '1.0.0'), { instanceOf: InvalidInput });
});

test('isPrerelease looks only at the part before build metadata', (t) => {
  t.true(isPrerelease('1.0.0-rc.1'));
  t.false(isPrerelease('1.0.0'));
  t.false(isPrerelease('1.0.0+build-1'));
});
