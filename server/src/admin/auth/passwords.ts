import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { InvalidInput } from '../../errors.js';

export const DEFAULT_BCRYPT_COST = 12;
export const MIN_BCRYPT_COST = 10;
export const MIN_PASSWORD_LENGTH = 12;
/** bcrypt reads only the first 72 bytes; a longer password would silently lose its tail. */
export const MAX_PASSWORD_BYTES = 72;

export interface PasswordHasherOptions {
  /** bcrypt cost factor (log2 rounds); default 12, at least 10. */
  cost?: number;
  /** Lets tests use a cost below 10 (e.g. 4) so a suite runs in seconds. Never set in production. */
  allowInsecureCost?: boolean;
}

/**
 * bcrypt hashing with one configured cost. Verification against a missing
 * hash still runs a full bcrypt compare (against a dummy hash of the same
 * cost) so an unknown username costs the same time, and gets the same
 * answer, as a wrong password.
 */
export class PasswordHasher {
  readonly cost: number;
  private dummyHash: Promise<string> | undefined;

  constructor(options: PasswordHasherOptions = {}) {
    const cost = options.cost ?? DEFAULT_BCRYPT_COST;
    if (!Number.isInteger(cost) || cost > 31 || (cost < MIN_BCRYPT_COST && !options.allowInsecureCost)) {
      throw new InvalidInput(`bcrypt cost must be an integer from ${MIN_BCRYPT_COST} to 31, got ${cost}`);
    }
    this.cost = cost;
  }

  /**
   * Makes the dummy hash now, so that even the first unknown user of the
   * process costs one compare, not a hash plus a compare. A server calls it
   * at startup; a command that only hashes never pays for it.
   */
  prepare(): Promise<void> {
    return this.dummy().then(() => undefined);
  }

  private dummy(): Promise<string> {
    // Of a random secret nobody knows, at the configured cost, once per process.
    this.dummyHash ??= bcrypt.hash(randomBytes(24).toString('base64'), this.cost).catch((err: unknown) => {
      this.dummyHash = undefined; // let the next call try again rather than fail forever
      throw err;
    });
    return this.dummyHash;
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.cost);
  }

  /** Whether `password` matches `hash`; with no hash (unknown user) it spends the same time and answers false. */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    // Longer than bcrypt reads: it cannot be a stored password, but pay the same price before saying no.
    const acceptable = Buffer.byteLength(password, 'utf8') <= MAX_PASSWORD_BYTES && !password.includes('\0');
    const matches = await bcrypt.compare(password, hash ?? (await this.dummy()));
    return matches && acceptable && hash !== undefined;
  }
}

// Long enough to pass the length rule, so the policy must catch them by name.
const COMMON_PASSWORDS = new Set([
  'password1234', 'password12345', 'password123!', 'passw0rd1234', 'passwordpassword', 'qwerty123456',
  'qwertyuiop12', 'qwertyuiop123', '1q2w3e4r5t6y', 'iloveyou1234', 'letmein12345', 'welcome12345',
  'changeme1234', 'administrator', 'administrator1', 'admin1234567', 'adminadmin12', 'abc123456789',
  'terraform123', 'terraform-mirror', 'tfmirror1234', 'monkey123456', 'dragon123456', 'sunshine1234',
]);

/** Every rule the password breaks, as phrases for one message; empty when it is acceptable. */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) problems.push(`it must be at least ${MIN_PASSWORD_LENGTH} characters (it has ${length})`);
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) problems.push(`it must be at most ${MAX_PASSWORD_BYTES} bytes (bcrypt ignores the rest)`);
  if (/[\0-\x1f\x7f]/.test(password)) problems.push('it must not contain control characters');
  if (length > 0 && characterClasses(password) < 2) {
    problems.push('it must mix at least two kinds of characters (lowercase, uppercase, digits, symbols)');
  }
  if (username !== '' && password.toLowerCase() === username.toLowerCase()) problems.push('it must not be the username');
  if (COMMON_PASSWORDS.has(password.toLowerCase())) problems.push('it is a commonly used password');
  return problems;
}

/** Throws InvalidInput naming every broken rule. */
export function assertPasswordPolicy(password: string, username: string): void {
  const problems = passwordProblems(password, username);
  if (problems.length > 0) throw new InvalidInput(`the password is too weak: ${problems.join('; ')}`, { key: 'password' });
}

function characterClasses(password: string): number {
  const classes = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u];
  return classes.filter((re) => re.test(password)).length;
}
