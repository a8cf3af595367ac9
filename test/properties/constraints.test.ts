/**
 * Property tests for versions and Terraform constraints: any text, and
 * mutations of valid constraints, parse to a result or an InvalidInput, fast;
 * parse → format → parse is stable; a valid version always satisfies "= v".
 */

import test from 'ava';
import fc from 'fast-check';
import { InvalidInput } from '../../server/src/errors.js';
import {
  formatConstraints,
  matches,
  parseConstraints,
  resolve,
  type Constraint,
} from '../../server/src/providers/constraints.js';
import { compareVersions, isValidVersion, normalizeVersion } from '../../server/src/providers/version.js';
import { TABLE_CONSTRAINTS, smallVersion, validConstraint, validVersion } from './arbitraries.js';
import { assertProperty, outcome } from './helpers.js';
import { mutatedText } from './mutate.js';

// CPU time per case; pure string work anywhere near it is a regex or loop gone wrong.
const CPU_MS = 250;
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'binary-ascii', maxLength: 2000 }),
  fc.string({ unit: fc.constantFrom('~', '>', '=', '<', '!', ',', ' ', '.', '-', '+', '1', '0', 'v', '*', 'x'), maxLength: 40 }),
);
const constraintInputs = fc.oneof(
  anyText,
  validConstraint,
  mutatedText(fc.oneof(validConstraint, fc.constantFrom(...TABLE_CONSTRAINTS))),
);

test.serial('any text parses to a constraint or an InvalidInput, within the CPU bound', async (t) => {
  await assertProperty(
    t,
    constraintInputs,
    async (text) => {
      const r = await outcome(() => parseConstraints(text), { cpuMs: CPU_MS, allowed: [InvalidInput] });
      if (r.ok) checkWellFormed(r.value);
    },
    { numRuns: 3000 },
  );
});

function checkWellFormed(c: Constraint): void {
  if (c.terms.length === 0) throw new Error('a parsed constraint has no terms');
  for (const term of c.terms) {
    if (!isValidVersion(term.version)) throw new Error(`boundary ${term.version} is not a valid version`);
    if (term.below !== undefined && !isValidVersion(term.below)) throw new Error(`bound ${term.below} is not valid`);
  }
}

test.serial('parse, format and parse again gives the same terms', async (t) => {
  await assertProperty(
    t,
    constraintInputs,
    async (text) => {
      const first = await outcome(() => parseConstraints(text), { cpuMs: CPU_MS, allowed: [InvalidInput] });
      if (!first.ok) return;
      const formatted = formatConstraints(first.value);
      const again = parseConstraints(formatted);
      t.deepEqual(again.terms, first.value.terms, `${JSON.stringify(text)} → ${JSON.stringify(formatted)}`);
      t.is(formatConstraints(again), formatted);
    },
    { numRuns: 2000 },
  );
});

test.serial('a valid version satisfies "= v" and "v", and only its exact build', async (t) => {
  await assertProperty(
    t,
    validVersion,
    (v) => {
      t.true(isValidVersion(v), v);
      t.true(matches(parseConstraints(`= ${v}`), v), `= ${v}`);
      t.true(matches(parseConstraints(v), v), v);
      t.true(matches(parseConstraints(`>= ${v}, <= ${v}`), v) || v.includes('-'), `>= ${v}, <= ${v}`);
      t.false(matches(parseConstraints(`!= ${v}`), v), `!= ${v}`);
    },
    { numRuns: 1500 },
  );
});

test.serial('matching and resolving never throw, and resolve returns only matches, newest first', async (t) => {
  const versionLists = fc.array(fc.oneof(smallVersion, validVersion, fc.string({ maxLength: 12 })), { maxLength: 20 });
  await assertProperty(
    t,
    fc.tuple(fc.oneof(validConstraint, fc.constantFrom(...TABLE_CONSTRAINTS)), versionLists, fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined })),
    async ([text, available, latest]) => {
      const c = parseConstraints(text);
      const found = (await outcome(() => resolve(c, available, latest), { cpuMs: CPU_MS })) as { ok: true; value: string[] };
      t.true(found.ok);
      for (const v of found.value) t.true(matches(c, v), `${v} resolved for ${text}`);
      for (let i = 1; i < found.value.length; i++) t.true(compareVersions(found.value[i - 1]!, found.value[i]!) > 0);
      if (latest !== undefined) t.true(found.value.length <= latest);
    },
    { numRuns: 1500 },
  );
});

test.serial('version comparison is a total order over valid versions', async (t) => {
  await assertProperty(
    t,
    fc.tuple(fc.oneof(validVersion, smallVersion), fc.oneof(validVersion, smallVersion), fc.oneof(validVersion, smallVersion)),
    ([a, b, c]) => {
      t.is(compareVersions(a, a), 0);
      t.true(Math.sign(compareVersions(a, b)) === -Math.sign(compareVersions(b, a)), `${a} vs ${b}`);
      if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) t.true(compareVersions(a, c) <= 0);
    },
    { numRuns: 1500 },
  );
});

test.serial('normalizing any text gives a valid version or an InvalidInput, and is idempotent', async (t) => {
  const versionish = fc.oneof(
    anyText,
    validVersion.map((v) => ` v${v} `),
    mutatedText(validVersion),
  );
  await assertProperty(
    t,
    versionish,
    async (text) => {
      const r = await outcome(() => normalizeVersion(text), { cpuMs: CPU_MS, allowed: [InvalidInput] });
      if (!r.ok) {
        await outcome(() => compareVersions(text, '1.0.0'), { cpuMs: CPU_MS, allowed: [InvalidInput] });
        return;
      }
      t.true(isValidVersion(r.value), r.value);
      t.is(normalizeVersion(r.value), r.value);
    },
    { numRuns: 2000 },
  );
});

// Found by the round-trip property: the readable form ("= 1, = 1, ...") of a
// constraint near the length limit is longer than the limit, so it did not parse.
test('a constraint near the length limit still formats to text that parses to the same terms', (t) => {
  const c = parseConstraints(`${'1,'.repeat(400)}1`);
  t.deepEqual(parseConstraints(formatConstraints(c)).terms, c.terms);
  t.is(formatConstraints(parseConstraints('>=1.0,<2,  ~>1.2')), '>= 1.0, < 2, ~> 1.2');
});
