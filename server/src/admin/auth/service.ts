import type { AuthConfig } from '../../config/types.js';
import { ApiTokenRepository, type ApiTokenRow } from '../../db/api-tokens.js';
import type { Database } from '../../db/database.js';
import { SessionRepository, type SessionRow } from '../../db/sessions.js';
import { SettingsRepository } from '../../db/settings.js';
import { LoginFailureRepository, UserRepository, type UserRow } from '../../db/users.js';
import { NotFound, Unauthorized } from '../../errors.js';
import type { Principal, Role } from '../principal.js';
import { createUser, type NewAccount } from './accounts.js';
import { PasswordHasher, type PasswordHasherOptions } from './passwords.js';
import { LoginThrottle, type ThrottleOptions } from './throttle.js';
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
  expiresInDays?: number;
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
  private readonly now: () => number;
  private readonly users: UserRepository;
  private readonly sessions: SessionRepository;
  private readonly tokens: ApiTokenRepository;
  private readonly passwords: PasswordHasher;
  private readonly throttle: LoginThrottle;
  private readonly jwt: SessionTokens;
  private readonly bootstrap: BootstrapToken;

  constructor(
    private readonly db: Database,
    config: Pick<AuthConfig, 'jwtSecret' | 'operatorToken'>,
    options: AuthServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.users = new UserRepository(db);
    this.sessions = new SessionRepository(db);
    this.tokens = new ApiTokenRepository(db);
    this.passwords = new PasswordHasher(options.passwords);
    // In the background; a failure here would surface on the first login instead.
    this.passwords.prepare().catch(() => undefined);
    this.throttle = new LoginThrottle(new LoginFailureRepository(db), { ...options.throttle, now: this.now });
    const secret = resolveJwtSecret(config, new SettingsRepository(db));
    this.jwt = new SessionTokens(secret, { ttlMs: options.sessionTtlMs, now: this.now });
    this.bootstrap = new BootstrapToken(config.operatorToken);
  }

  /** Throttle first (before any bcrypt work), then one answer for every kind of failure. */
  async login(username: string, password: string, client: ClientInfo): Promise<LoginResult> {
    const release = this.throttle.acquire(username, client.ip);
    try {
      const user = this.users.findByUsername(username);
      // Always a full bcrypt compare, even for unknown or disabled users: the timing must not tell.
      const matches = await this.passwords.verify(password, user?.passwordHash);
      if (!user || !matches || user.disabled) {
        this.throttle.recordFailure(username, client.ip);
        throw new Unauthorized(LOGIN_FAILED);
      }
      return await this.startSession(user, client);
    } finally {
      release();
    }
  }

  private async startSession(user: UserRow, client: ClientInfo): Promise<LoginResult> {
    const sessionId = newSessionId();
    const { token, expiresAt } = await this.jwt.issue(user.id, sessionId, user.role);
    const now = this.now();
    this.db
      .transaction(() => {
        this.sessions.create(sessionId, user.id, expiresAt, client.ip, client.userAgent, now);
        this.users.recordLogin(user.id, client.ip, client.userAgent, now);
        this.throttle.recordSuccess(user.username);
        this.sessions.pruneExpired(now);
      })
      .immediate();
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
    this.tokens.touch(row.id, now);
    return { kind: 'token', actor: `token:${row.name}#${row.id}`, role: row.role, tokenId: row.id };
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
    const secret = generateApiToken();
    const expiresAt = spec.expiresInDays === undefined ? null : now + spec.expiresInDays * DAY_MS;
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
