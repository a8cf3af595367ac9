import type { UserRepository, UserRow } from '../../db/users.js';
import { Conflict, InvalidInput } from '../../errors.js';
import type { Role } from '../principal.js';
import { assertPasswordPolicy, type PasswordHasher } from './passwords.js';

// Plain and short: usernames appear in audit actors ("user:NAME") and log lines.
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function assertUsername(username: string): void {
  if (!USERNAME.test(username)) {
    throw new InvalidInput('the username must be 1-64 characters: letters, digits, ".", "_", "@", "-", starting with a letter or digit', { key: 'username' });
  }
}

export interface NewAccount {
  username: string;
  password: string;
  role: Role;
}

/**
 * Creates a user after checking the username and the password policy.
 * An existing username (any letter case) is a Conflict from the repository.
 */
export async function createUser(deps: { users: UserRepository; passwords: PasswordHasher }, account: NewAccount, now: number): Promise<UserRow> {
  assertUsername(account.username);
  assertPasswordPolicy(account.password, account.username);
  // Checked before hashing so a taken name costs no bcrypt time; the unique index still decides races.
  if (deps.users.findByUsername(account.username)) throw new Conflict(`user "${account.username}" already exists`);
  const passwordHash = await deps.passwords.hash(account.password);
  return deps.users.create({ username: account.username, passwordHash, role: account.role }, now);
}
