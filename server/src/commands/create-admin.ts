import { createUser } from '../admin/auth/accounts.js';
import { PasswordHasher } from '../admin/auth/passwords.js';
import type { Config } from '../config/types.js';
import { openDatabase } from '../db/database.js';
import { Conflict, InvalidInput } from '../errors.js';
import { createRepositories } from '../runtime.js';

/** A password line longer than this is refused rather than read on (stdin may be anything). */
export const MAX_PASSWORD_LINE_BYTES = 1024;

/**
 * `tfmirror create-admin USERNAME`: the first admin account, with the
 * password read from stdin (first line) so it never appears in argv, shell
 * history or the process list. Exit codes: 0 created, 1 the user exists,
 * 2 bad input (no password, weak password, bad username).
 */
export async function createAdminCommand(
  username: string,
  config: Config,
  stdin: NodeJS.ReadableStream,
  out: NodeJS.WritableStream,
  errOut: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const fail = (code: number, message: string) => {
    errOut.write(`tfmirror create-admin: ${message}\n`);
    return code;
  };
  let password: string;
  try {
    password = await readFirstLine(stdin, MAX_PASSWORD_LINE_BYTES);
  } catch (err) {
    return fail(2, (err as Error).message);
  }
  if (password === '') return fail(2, 'no password on stdin: pipe it in, e.g. `printf %s "$PASSWORD" | tfmirror create-admin NAME`');
  const db = openDatabase(config.database.path);
  try {
    const user = await createUser({ users: createRepositories(db).users, passwords: new PasswordHasher({ cost: config.auth.bcryptCost }) }, { username, password, role: 'admin' }, Date.now());
    out.write(`created admin ${user.username}\n`);
    return 0;
  } catch (err) {
    if (err instanceof InvalidInput) return fail(2, err.message);
    if (err instanceof Conflict) return fail(1, err.message);
    throw err;
  } finally {
    db.close();
  }
}

/** The first line without its line ending; EOF ends the line too. Refuses more than `limit` bytes. */
export async function readFirstLine(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    const newline = buf.indexOf(0x0a);
    const part = newline === -1 ? buf : buf.subarray(0, newline);
    size += part.length;
    if (size > limit) throw new InvalidInput(`the password line is longer than ${limit} bytes`);
    chunks.push(part);
    // Stop at the newline: anything after it is not ours, and a terminal would never send EOF.
    if (newline !== -1) break;
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
}
