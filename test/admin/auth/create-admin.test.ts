import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import test from 'ava';
import { AuthService } from '../../../server/src/admin/auth/service.js';
import { createAdminCommand } from '../../../server/src/commands/create-admin.js';
import type { Config } from '../../../server/src/config/types.js';
import { openDatabase } from '../../../server/src/db/database.js';
import { UserRepository } from '../../../server/src/db/users.js';
import { createRepositories } from '../../../server/src/runtime.js';
import { CLIENT, TEST_PASSWORDS } from './helpers.js';

const PASSWORD = 'Tangerine-Rocket-42';

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

async function run(username: string, stdin: string | string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-create-admin-'));
  const config = { database: { path: path.join(dir, 'mirror.db') }, auth: { bcryptCost: 10 } } as Config;
  const out = sink();
  const err = sink();
  const code = await createAdminCommand(username, config, Readable.from(Array.isArray(stdin) ? stdin : [stdin]), out.stream, err.stream);
  const again = (input: string) => createAdminCommand(username, config, Readable.from([input]), out.stream, err.stream);
  return { code, out: out.text, err: err.text, dbPath: config.database.path, again };
}

test('create-admin reads the password from the first line of stdin and creates an admin who can sign in', async (t) => {
  const r = await run('alice', `${PASSWORD}\nignored second line\n`);
  t.is(r.code, 0, r.err());
  t.is(r.out(), 'created admin alice\n');
  const db = openDatabase(r.dbPath);
  t.like(new UserRepository(db).list(), [{ username: 'alice', role: 'admin' }]);
  const auth = new AuthService(createRepositories(db), { jwtSecret: '', operatorToken: '' }, { passwords: TEST_PASSWORDS });
  t.truthy((await auth.login('alice', PASSWORD, CLIENT)).token);
  db.close();
});

test('create-admin accepts a password split across chunks and a CRLF line ending', async (t) => {
  const r = await run('alice', ['Tangerine-', 'Rocket-42\r\n']);
  t.is(r.code, 0, r.err());
  const db = openDatabase(r.dbPath);
  t.true(await new AuthService(createRepositories(db), { jwtSecret: '', operatorToken: '' }, { passwords: TEST_PASSWORDS }).login('alice', PASSWORD, CLIENT).then(() => true));
  db.close();
});

test('create-admin refuses a weak password with the policy message (exit 2) and creates nothing', async (t) => {
  const r = await run('alice', '123456789\n');
  t.is(r.code, 2);
  t.regex(r.err(), /the password is too weak: .*at least 12 characters.*two kinds/);
  t.is(r.out(), '');
  const db = openDatabase(r.dbPath);
  t.deepEqual(new UserRepository(db).list(), []);
  db.close();
});

test('create-admin refuses an empty stdin (exit 2)', async (t) => {
  const r = await run('alice', '');
  t.is(r.code, 2);
  t.regex(r.err(), /no password on stdin/);
});

test('create-admin refuses a password line longer than 1 KiB (exit 2)', async (t) => {
  const r = await run('alice', 'x'.repeat(1025));
  t.is(r.code, 2);
  t.regex(r.err(), /longer than 1024 bytes/);
});

test('create-admin refuses an existing username (exit 1)', async (t) => {
  const r = await run('alice', `${PASSWORD}\n`);
  t.is(await r.again(`${PASSWORD}\n`), 1);
  t.regex(r.err(), /user "alice" already exists/);
});

test('create-admin refuses a malformed username (exit 2)', async (t) => {
  const r = await run('bad name', `${PASSWORD}\n`);
  t.is(r.code, 2);
  t.regex(r.err(), /username must be/);
});
