import type { AuthConfig } from '../../../server/src/config/types.js';
import { openDatabase, type Database } from '../../../server/src/db/database.js';
import { SettingsRepository } from '../../../server/src/db/settings.js';
import { createRepositories, type Repositories } from '../../../server/src/runtime.js';
import { AuthService, type AuthServiceOptions } from '../../../server/src/admin/auth/service.js';
import { resolveJwtSecret } from '../../../server/src/admin/auth/tokens.js';
import type { Role } from '../../../server/src/admin/principal.js';

export const T0 = 1_700_000_000_000;
export const CLIENT = { ip: '192.0.2.10', userAgent: 'ava-test' };
export const PASSWORD = 'Correct-horse-battery-9';
/** bcrypt cost 4 keeps a suite of logins in milliseconds; production never goes below 10. */
export const TEST_PASSWORDS = { cost: 4, allowInsecureCost: true };

export interface ManualClock {
  now: () => number;
  advance(ms: number): void;
  set(ms: number): void;
}

export function manualClock(start = T0): ManualClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (ms) => void (t = ms) };
}

export interface Setup {
  db: Database;
  clock: ManualClock;
  config: AuthConfig;
  auth: AuthService;
  repos: Repositories;
  /** The HS256 key the service signs with, to craft tokens by hand. */
  secret: Uint8Array;
  addUser(username: string, role?: Role, password?: string): Promise<number>;
}

export async function setup(config: Partial<AuthConfig> = {}, options: AuthServiceOptions = {}): Promise<Setup> {
  const db = openDatabase(':memory:');
  const clock = manualClock();
  const full: AuthConfig = { jwtSecret: '', operatorToken: '', bcryptCost: 12, sessionTtl: 43_200, maxConcurrentLogins: 0, ...config };
  const repos = createRepositories(db);
  const auth = new AuthService(repos, full, { now: clock.now, passwords: TEST_PASSWORDS, ...options });
  const secret = resolveJwtSecret(full, new SettingsRepository(db));
  const addUser = async (username: string, role: Role = 'admin', password = PASSWORD) =>
    (await auth.createUser({ username, password, role })).id;
  return { db, clock, config: full, auth, repos, secret, addUser };
}
