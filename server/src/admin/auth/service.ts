import type { AuthConfig } from '../../config/types.js';
import type { ApiTokenRepository, ApiTokenRow } from '../../db/api-tokens.js';
import type { LoginFailureRepository } from '../../db/login-failures.js';
import type { SessionRepository, SessionRow } from '../../db/sessions.js';
import type { SettingsRepository } from '../../db/settings.js';
import type { UserRepository, UserRow } from '../../db/users.js';
import { InvalidInput, NotFound, Unauthorized } from '../../errors.js';
import type { Principal, Role } from '../principal.js';
import { createUser, type NewAccount } from './accounts.js';
import { PasswordHasher, type PasswordHasherOptions } from './passwords.js';
import { LoginThrottle, type ThrottleOptions } from './throttle.js';
import { VerifySlots, defaultVerifySlots } from './verify-slots.js';
import {
  BootstrapToken,
  SessionTokens,
  generateApiToken,
  hashApiToken,
  looksLikeApiToken,
  looksLikeJwt,
  newSessionId,
  resolveJwtSecret,
} from './tokens.js';

/**
 * The repositories auth works on, by the names the runtime's Repositories
 * object uses, so `runtime.repos` can be passed as it is.
 */
export interface AuthRepositories {
  users: UserRepository;
  sessions: SessionRepository;
  tokens: ApiTokenRepository;
  settings: SettingsRepository;
  loginFailures: LoginFailureRepository;
}

export interface ClientInfo {
  ip: string;
  userAgent: string;
}

export interface AuthServiceOptions {
  /** Epoch ms; injectable so tests can move time. */
  now?: () => number;
  passwords?: PasswordHasherOptions;
  /** Session (and JWT) lifetime; default 12 h. */
  sessionTtlMs?: number;
  throttle?: Omit<ThrottleOptions, 'now'>;
}

export interface LoginResult {
  token: string;
  /** ISO 8601. */
  expiresAt: string;
  user: UserRow;
}

export interface NewToken {
  name: string;
  role: Role;
  /** Lifetime in days from now; or */
  expiresInDays?: number;
  /** an absolute expiry, epoch ms, in the future. Neither: the token does not expire. */
  expiresAt?: number;
}

export interface CreatedToken {
  /** The secret, returned once: only its hash is stored. */
  token: string;
  row: ApiTokenRow;
}

/** Who the caller is, for GET /auth/me: the principal plus the user row when it is a person. */
export interface Identity {
  principal: Principal;
  user?: UserRow;
}

const DAY_MS = 24 * 60 * 60 * 1000;
// One message for unknown user, wrong password and disabled account: none of them may be told apart.
export const LOGIN_FAILED = 'invalid username or password';

/**
 * Sign-in, sessions and API tokens. Bearer forms: a session JWT (revocable
 * through its session row), an opaque "tfm_" API token (stored as sha256),
 * or the configured bootstrap operator token. Never logs or returns a
 * password, a password hash or a token hash.
 */
export class AuthService {
  readonly now: () => number;
  /** Shared with the user service, which hashes and checks passwords too. */
  readonly passwords: PasswordHasher;
  /** The cap on concurrent bcrypt verifications, shared the same way. */
  readonly slots: VerifySlots;
  private readonly users: UserRepository;
  private readonly sessions: SessionRepository;
  private readonly tokens: ApiTokenRepository;
  private readonly throttle: LoginThrottle;
  private readonly jwt: SessionTokens;
  private readonly bootstrap: BootstrapToken;

  constructor(
    repos: AuthRepositories,
    config: Pick<AuthConfig, 'jwtSecret' | 'operatorToken'> & Partial<Pick<AuthConfig, 'maxConcurrentLogins'>>,
    options: AuthServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.users = repos.users;
    this.sessions = repos.sessions;
    this.tokens = repos.tokens;
    this.passwords = new PasswordHasher(options.passwords);
    // In the background; a failure here would surface on the first login instead.
    this.passwords.prepare().catch(() => undefined);
    this.slots = new VerifySlots(config.maxConcurrentLogins || defaultVerifySlots());
    this.throttle = new LoginThrottle(repos.loginFailures, { ...options.throttle, now: this.now });
    const secret = resolveJwtSecret(config, repos.settings);
    this.jwt = new SessionTokens(secret, { ttlMs: options.sessionTtlMs, now: this.now });
    this.bootstrap = new BootstrapToken(config.operatorToken);
  }

  /**
   * Throttle first, then a verification slot (both before any bcrypt work),
   * then one answer for every kind of failure.
   */
  async login(username: string, password: string, client: ClientInfo): Promise<LoginResult> {
    const release = this.throttle.acquire(username, client.ip);
    try {
      const user = this.users.findByUsername(username);
      const matches = await this.verifyPassword(password, user?.passwordHash);
      if (!user || !matches || user.disabled) {
        this.throttle.recordFailure(username, client.ip);
        throw new Unauthorized(LOGIN_FAILED);
      }
      return await this.startSession(user, client);
    } finally {
      release();
    }
  }

  /**
   * Re-authentication of a signed-in user (changing their own password):
   * the same throttle and verification slots as a sign-in, so a stolen
   * session cannot be used to guess the password faster than the login form.
   */
  async confirmPassword(username: string, password: string, hash: string, ip: string): Promise<boolean> {
    const release = this.throttle.acquire(username, ip);
    try {
      const matches = await this.verifyPassword(password, hash);
      if (!matches) this.throttle.recordFailure(username, ip);
      return matches;
    } finally {
      release();
    }
  }

  /**
   * One bcrypt compare inside a verification slot; throws VerifiersBusy
   * (429) at once when none is free. Always a full compare, even for unknown
   * or disabled users: the timing must not tell.
   */
  async verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
    const release = this.slots.acquire();
    try {
      return await this.passwords.verify(password, hash);
    } finally {
      release();
    }
  }

  private async startSession(user: UserRow, client: ClientInfo): Promise<LoginResult> {
    const sessionId = newSessionId();
    const { token, expiresAt } = await this.jwt.issue(user.id, sessionId, user.role);
    const now = this.now();
    this.users.transaction(() => {
      this.sessions.create(sessionId, user.id, expiresAt, client.ip, client.userAgent, now);
      this.users.recordLogin(user.id, client.ip, client.userAgent, now);
      this.throttle.recordSuccess(user.username, client.ip);
      this.sessions.pruneExpired(now);
    });
    return { token, expiresAt: new Date(expiresAt).toISOString(), user: this.users.get(user.id) };
  }

  /** Revokes a session; false when it was unknown or already revoked. */
  logout(sessionId: string): boolean {
    return this.sessions.revoke(sessionId, this.now());
  }

  /**
   * The principal behind a bearer token, or undefined when it is not valid
   * for any reason (the router answers 401 without saying which).
   */
  async authenticate(bearer: string): Promise<Principal | undefined> {
    // First and in constant time, whatever the bearer looks like: an operator may pick any string.
    if (this.bootstrap.matches(bearer)) return this.bootstrap.principal();
    if (looksLikeJwt(bearer)) return this.authenticateSession(bearer);
    if (looksLikeApiToken(bearer)) return this.authenticateApiToken(bearer);
    return undefined;
  }

  private async authenticateSession(jwt: string): Promise<Principal | undefined> {
    const claims = await this.jwt.verify(jwt);
    if (!claims) return undefined;
    const now = this.now();
    const session = this.sessions.find(claims.sessionId);
    if (!session || session.revokedAt !== null || session.expiresAt <= now || session.userId !== claims.userId) return undefined;
    const user = this.users.find(session.userId);
    if (!user || user.disabled) return undefined;
    this.sessions.touch(session.id, now);
    // The role comes from the user row, not the token, so a role change applies at once.
    return { kind: 'user', actor: `user:${user.username}`, role: user.role, userId: user.id, sessionId: session.id };
  }

  private authenticateApiToken(token: string): Principal | undefined {
    const row = this.tokens.findByHash(hashApiToken(token));
    const now = this.now();
    if (!row || row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= now)) return undefined;
    if (row.createdBy !== null && !this.creatorMayStillIssue(row.createdBy)) return undefined;
    this.tokens.touch(row.id, now);
    return { kind: 'token', actor: `token:${row.name}#${row.id}`, role: row.role, tokenId: row.id };
  }

  /**
   * A token is its creator's: only admins create tokens, so it works while its
   * creator is an enabled admin. Disabling or demoting them suspends it (a
   * demoted admin's CI token must not keep admin rights); deleting them revokes it.
   */
  private creatorMayStillIssue(userId: number): boolean {
    const creator = this.users.find(userId);
    return creator !== undefined && !creator.disabled && creator.role === 'admin';
  }

  identify(principal: Principal): Identity {
    const user = principal.userId === undefined ? undefined : this.users.find(principal.userId);
    return user ? { principal, user } : { principal };
  }

  /** A user's live sessions (not revoked, not expired), newest first. */
  listSessions(userId: number): SessionRow[] {
    const now = this.now();
    return this.sessions.listOf(userId).filter((s) => s.revokedAt === null && s.expiresAt > now);
  }

  /**
   * Revokes a session of the caller's own, or any session for an admin.
   * Someone else's session is NotFound, not Forbidden: its existence is not theirs to learn.
   */
  revokeSession(principal: Principal, sessionId: string): SessionRow {
    const session = this.sessions.find(sessionId);
    if (!session || (session.userId !== principal.userId && principal.role !== 'admin')) {
      throw new NotFound(`session ${sessionId} does not exist`);
    }
    this.sessions.revoke(sessionId, this.now());
    return this.sessions.find(sessionId)!;
  }

  createToken(principal: Principal, spec: NewToken): CreatedToken {
    const now = this.now();
    if (spec.expiresAt !== undefined && spec.expiresInDays !== undefined) {
      throw new InvalidInput('give expiresAt or expiresInDays, not both', { key: 'expiresAt' });
    }
    if (spec.expiresAt !== undefined && spec.expiresAt <= now) throw new InvalidInput('expiresAt must be in the future', { key: 'expiresAt' });
    const secret = generateApiToken();
    const expiresAt = spec.expiresAt ?? (spec.expiresInDays === undefined ? null : now + spec.expiresInDays * DAY_MS);
    const row = this.tokens.create(spec.name, secret.hash, secret.prefix, spec.role, principal.userId ?? null, expiresAt, now);
    return { token: secret.token, row };
  }

  listTokens(): ApiTokenRow[] {
    return this.tokens.list();
  }

  revokeToken(id: number): ApiTokenRow {
    return this.tokens.revoke(id, this.now());
  }

  createUser(account: NewAccount): Promise<UserRow> {
    return createUser({ users: this.users, passwords: this.passwords }, account, this.now());
  }
}
