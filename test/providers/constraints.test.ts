import test from 'ava';
import { InvalidInput } from '../../server/src/errors.js';
import { isExactVersion, matches, parseConstraints, resolve } from '../../server/src/providers/constraints.js';

interface MatchCase {
  name: string;
  constraint: string;
  match: string[];
  noMatch: string[];
}

const matchCases: MatchCase[] = [
  {
    name: '~> with two parts allows minor updates: ~> 1.2 is >= 1.2.0, < 2.0.0',
    constraint: '~> 1.2',
    match: ['1.2.0', '1.2.9', '1.3.0', '1.10.0', '1.99.99'],
    noMatch: ['1.1.9', '2.0.0', '0.2.0', '1.3.0-beta'],
  },
  {
    name: '~> with three parts allows patch updates: ~> 1.2.0 is >= 1.2.0, < 1.3.0',
    constraint: '~> 1.2.0',
    match: ['1.2.0', '1.2.1', '1.2.99'],
    noMatch: ['1.1.9', '1.3.0', '2.0.0', '1.2.1-rc1'],
  },
  {
    name: '~> with a patch above zero keeps its floor: ~> 1.2.3 is >= 1.2.3, < 1.3.0',
    constraint: '~> 1.2.3',
    match: ['1.2.3', '1.2.10'],
    noMatch: ['1.2.2', '1.3.0'],
  },
  {
    name: '~> with one part is >= X.0.0, < X+1.0.0',
    constraint: '~> 1',
    match: ['1.0.0', '1.5.0', '1.99.0'],
    noMatch: ['0.9.0', '2.0.0'],
  },
  {
    name: '~> 0.12 allows any 0.x from 0.12 (not only 0.12.x)',
    constraint: '~> 0.12',
    match: ['0.12.0', '0.12.31', '0.13.0', '0.15.5'],
    noMatch: ['0.11.14', '1.0.0'],
  },
  {
    name: '~> 0.12.29 stays within 0.12',
    constraint: '~> 0.12.29',
    match: ['0.12.29', '0.12.31'],
    noMatch: ['0.12.28', '0.13.0'],
  },
  {
    name: '~> with a prerelease floor still bounds by the parts written',
    constraint: '~> 1.2.0-beta',
    match: ['1.2.0', '1.2.5'],
    noMatch: ['1.3.0', '1.2.0-beta', '1.2.0-rc1'],
  },
  {
    name: 'no operator means exactly that version',
    constraint: '1.2.3',
    match: ['1.2.3'],
    noMatch: ['1.2.4', '1.2.2', '1.2.3+build.1', '1.2.3-rc1'],
  },
  {
    name: 'a short exact version means zeros for the missing parts',
    constraint: '= 1.2',
    match: ['1.2.0'],
    noMatch: ['1.2.1', '1.3.0'],
  },
  {
    name: '!= excludes one version',
    constraint: '!= 1.5.0',
    match: ['1.4.0', '1.5.1', '2.0.0'],
    noMatch: ['1.5.0'],
  },
  {
    name: 'comma-joined terms must all hold',
    constraint: '>= 1.0, < 2.0, != 1.5.0',
    match: ['1.0.0', '1.4.9', '1.5.1', '1.99.0'],
    noMatch: ['0.9.9', '1.5.0', '2.0.0'],
  },
  {
    name: 'spaces around operators and commas are optional',
    constraint: '>=1.0,<2.0',
    match: ['1.0.0', '1.9.0'],
    noMatch: ['2.0.0'],
  },
  {
    name: '> and <= are strict and inclusive',
    constraint: '> 1.2.3, <= 1.3',
    match: ['1.2.4', '1.3.0'],
    noMatch: ['1.2.3', '1.3.1'],
  },
  {
    name: 'relational terms ignore build metadata',
    constraint: '>= 1.0.0, < 1.0.1',
    match: ['1.0.0', '1.0.0+abc'],
    noMatch: ['1.0.1'],
  },
  {
    name: 'a prerelease is selected by an exact = term naming it',
    constraint: '= 1.0.0-beta.1',
    match: ['1.0.0-beta.1'],
    noMatch: ['1.0.0-beta.2', '1.0.0'],
  },
  {
    name: 'a prerelease named without an operator is also exact',
    constraint: '2.0.0-rc1',
    match: ['2.0.0-rc1'],
    noMatch: ['2.0.0'],
  },
  {
    name: 'inexact operators never select prereleases, even one they name',
    constraint: '>= 1.0.0-beta.1',
    match: ['1.0.0', '1.1.0'],
    noMatch: ['1.0.0-beta.1', '1.0.0-beta.2', '1.1.0-rc1'],
  },
  {
    name: 'an exact prerelease term combined with a range selects it when the range holds',
    constraint: '= 1.0.0-beta.1, >= 0.9',
    match: ['1.0.0-beta.1'],
    noMatch: ['1.0.0', '0.9.0'],
  },
  {
    name: 'invalid version strings never match',
    constraint: '>= 0.0.0',
    match: ['0.0.1'],
    noMatch: ['v1.0.0', '1.0', '', 'latest'],
  },
];

for (const c of matchCases) {
  test(`constraint ${c.name}`, (t) => {
    const parsed = parseConstraints(c.constraint);
    for (const v of c.match) t.true(matches(parsed, v), `${c.constraint} should match ${v}`);
    for (const v of c.noMatch) t.false(matches(parsed, v), `${c.constraint} should not match ${v}`);
  });
}

const invalidCases: { name: string; text: string; message: RegExp }[] = [
  { name: 'an empty constraint', text: '', message: /it is empty/ },
  { name: 'a blank constraint', text: '   ', message: /it is empty/ },
  { name: 'an operator without a version', text: '~>', message: /operator "~>" has no version after it/ },
  { name: 'an unknown operator', text: '>> 1', message: /">>" in ">> 1" is not an operator/ },
  { name: 'a reversed >= ', text: '=> 1.0', message: /did you mean ">="\?/ },
  { name: 'an npm caret range', text: '^1.0', message: /npm-style "\^" ranges are not Terraform syntax, use "~>"/ },
  { name: 'an npm tilde range', text: '~1.0', message: /npm-style "~" ranges/ },
  { name: 'four numeric parts', text: '1.2.3.4', message: /"1\.2\.3\.4" has more than three numeric parts/ },
  { name: 'a v prefix', text: '>= v1.2', message: /"v1\.2" has a "v" prefix/ },
  { name: 'a wildcard', text: '1.2.*', message: /uses a wildcard/ },
  { name: 'an x wildcard', text: '~> 1.x', message: /uses a wildcard/ },
  { name: 'two terms without a comma', text: '>= 1.0 < 2.0', message: /missing comma\?/ },
  { name: 'a trailing comma', text: '>= 1.0,', message: /term 2 is empty/ },
  { name: 'a leading comma', text: ', >= 1.0', message: /starts with a comma/ },
  { name: 'an || alternative', text: '1.0 || 2.0', message: /"\|\|" \(or\) is not supported/ },
  { name: 'a leading zero', text: '01.2', message: /"01\.2" in "01\.2" is not a version/ },
  { name: 'an empty prerelease', text: '1.2.3-', message: /is not a version/ },
  { name: 'a word', text: 'next', message: /"next" in "next" is not a version/ },
];

for (const c of invalidCases) {
  test(`parseConstraints refuses ${c.name}, naming it and what is allowed`, (t) => {
    const err = t.throws(() => parseConstraints(c.text), { instanceOf: InvalidInput });
    t.regex(err.message, c.message);
    t.regex(err.message, /operator one of =, !=, >, >=, <, <=, ~>/);
    t.is(err.details.key, 'version');
  });
}

test('parseConstraints keeps each term with its boundary and ~> upper bound', (t) => {
  const c = parseConstraints(' ~> 5.40 , != 5.41.0 ');
  t.is(c.text, '~> 5.40 , != 5.41.0');
  t.deepEqual(c.terms, [
    { op: '~>', written: '5.40', version: '5.40.0', below: '6.0.0' },
    { op: '!=', written: '5.41.0', version: '5.41.0' },
  ]);
});

test('~> at the largest major has no upper bound instead of overflowing', (t) => {
  const max = Number.MAX_SAFE_INTEGER;
  const c = parseConstraints(`~> ${max}.0`);
  t.is(c.terms[0]!.below, undefined);
  t.true(matches(c, `${max}.5.0`));
});

const exactCases: [string, boolean][] = [
  ['5.31.0', true],
  ['1.0.0-rc.1+build.5', true],
  [' 5.31.0 ', true],
  ['5.31', false],
  ['= 5.31.0', false],
  ['~> 5.31.0', false],
  ['v5.31.0', false],
];
for (const [text, exact] of exactCases) {
  test(`isExactVersion(${JSON.stringify(text)}) is ${exact}`, (t) => t.is(isExactVersion(text), exact));
}

const available = ['5.39.0', '5.40.0', '5.41.0', '5.41.0', '5.42.0-beta1', '5.42.0', '6.0.0', '4.67.0', 'junk'];

test('resolve returns matching versions newest first without duplicates', (t) => {
  t.deepEqual(resolve(parseConstraints('~> 5.40'), available), ['5.42.0', '5.41.0', '5.40.0']);
});

test('resolve keeps only the newest `latest` matches', (t) => {
  t.deepEqual(resolve(parseConstraints('>= 4.0'), available, 2), ['6.0.0', '5.42.0']);
});

test('resolve selects a prerelease only when named exactly', (t) => {
  t.deepEqual(resolve(parseConstraints('5.42.0-beta1'), available), ['5.42.0-beta1']);
  t.false(resolve(parseConstraints('>= 5.0'), available).includes('5.42.0-beta1'));
});

test('resolve with no match is empty', (t) => {
  t.deepEqual(resolve(parseConstraints('~> 7.0'), available, 3), []);
});

test('resolve refuses a latest that is not a positive integer', (t) => {
  t.throws(() => resolve(parseConstraints('>= 1.0'), available, 0), { instanceOf: InvalidInput });
  t.throws(() => resolve(parseConstraints('>= 1.0'), available, 1.5), { instanceOf: InvalidInput });
});
