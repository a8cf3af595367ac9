import test from 'ava';
import { PasswordHasher, assertPasswordPolicy, passwordProblems } from '../../../server/src/admin/auth/passwords.js';
import { InvalidInput } from '../../../server/src/errors.js';
import { TEST_PASSWORDS } from './helpers.js';

const policy: { name: string; password: string; username?: string; problem?: RegExp }[] = [
  { name: 'a long mixed password is accepted', password: 'Tangerine-Rocket-42' },
  { name: 'a passphrase of lowercase words and spaces is accepted', password: 'purple monkey dishwasher' },
  { name: 'twelve characters of two kinds are enough', password: 'abcdefghij12' },
  { name: 'eleven characters are too short', password: 'Abcdefghi1!', problem: /at least 12 characters \(it has 11\)/ },
  { name: 'the empty password is refused', password: '', problem: /at least 12 characters/ },
  { name: 'only digits are refused', password: '123456789012345', problem: /two kinds of characters/ },
  { name: 'only lowercase letters are refused', password: 'abcdefghijklmnop', problem: /two kinds of characters/ },
  { name: 'only uppercase letters are refused', password: 'ABCDEFGHIJKLMNOP', problem: /two kinds of characters/ },
  { name: 'the username as password is refused, in any case', password: 'Alice.Admin-01', username: 'alice.admin-01', problem: /not be the username/ },
  { name: 'a common password is refused', password: 'Password1234', problem: /commonly used/ },
  { name: 'more than 72 bytes is refused (bcrypt would ignore the rest)', password: 'Aa1-'.repeat(19), problem: /at most 72 bytes/ },
  { name: 'control characters are refused', password: 'Abcdefghijk1\u0000x', problem: /control characters/ },
  { name: 'non-ASCII letters count as characters, not bytes', password: 'Ünïcödé-pässwörd' },
];

for (const c of policy) {
  test(`password policy: ${c.name}`, (t) => {
    const problems = passwordProblems(c.password, c.username ?? 'someone');
    if (!c.problem) {
      t.deepEqual(problems, []);
      return;
    }
    t.true(problems.some((p) => c.problem!.test(p)), problems.join('; '));
    const err = t.throws(() => assertPasswordPolicy(c.password, c.username ?? 'someone'), { instanceOf: InvalidInput });
    t.regex(err!.message, /^the password is too weak: /);
  });
}

test('the policy names every broken rule in one message', (t) => {
  const err = t.throws(() => assertPasswordPolicy('12345', 'x'));
  t.regex(err!.message, /at least 12 characters.*two kinds/);
});

test('hashes use bcrypt cost 12 by default', async (t) => {
  const hash = await new PasswordHasher().hash('Tangerine-Rocket-42');
  t.true(hash.startsWith('$2b$12$'), hash.slice(0, 7));
});

test('a cost below 10 is refused unless explicitly allowed for tests', (t) => {
  t.throws(() => new PasswordHasher({ cost: 8 }), { instanceOf: InvalidInput, message: /from 10 to 31/ });
  t.is(new PasswordHasher({ cost: 4, allowInsecureCost: true }).cost, 4);
});

test('verify accepts the password and nothing else', async (t) => {
  const hasher = new PasswordHasher(TEST_PASSWORDS);
  const hash = await hasher.hash('Tangerine-Rocket-42');
  t.true(await hasher.verify('Tangerine-Rocket-42', hash));
  t.false(await hasher.verify('tangerine-rocket-42', hash));
  t.false(await hasher.verify('Tangerine-Rocket-42', undefined), 'no stored hash never verifies');
});

test('a password longer than bcrypt reads never verifies, even when its first 72 bytes match', async (t) => {
  const hasher = new PasswordHasher(TEST_PASSWORDS);
  const stored = 'A1-'.repeat(24);
  const hash = await hasher.hash(stored);
  t.true(await hasher.verify(stored, hash));
  t.false(await hasher.verify(`${stored}anything`, hash));
});

test('an unknown user costs about as much time as a wrong password', async (t) => {
  const hasher = new PasswordHasher({ cost: 10 });
  const hash = await hasher.hash('Tangerine-Rocket-42');
  await hasher.verify('warm-up', undefined);
  const time = async (stored: string | undefined) => {
    const start = performance.now();
    await hasher.verify('Wrong-guess-123', stored);
    return performance.now() - start;
  };
  // Interleaved, so load from other test processes falls on both sides alike.
  const wrong: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 7; i++) {
    wrong.push(await time(hash));
    unknown.push(await time(undefined));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[3]!;
  const ratio = median(unknown) / median(wrong);
  // Without the dummy compare an unknown user would answer in well under a millisecond (ratio ~0).
  t.true(ratio > 0.4 && ratio < 2.5, `wrong ${median(wrong).toFixed(1)} ms, unknown ${median(unknown).toFixed(1)} ms`);
});
