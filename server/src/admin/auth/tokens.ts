import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { AuthConfig } from '../../config/types.js';
import type { SettingsRepository } from '../../db/settings.js';
import { InvalidInput } from '../../errors.js';
import { ROLES, type Principal, type Role } from '../principal.js';

export const JWT_ISSUER = 'terraform-mirror';
export const JWT_SECRET_SETTING = 'jwt_secret';
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** HS256 is only as strong as its key: below 256 bits an offline guess becomes plausible. */
export const MIN_JWT_SECRET_BYTES = 32;

/**
 * The HS256 key: auth.jwt_secret when set, else 32 random bytes generated
 * once and kept in settings, so sessions survive restarts and every process
 * on the database signs and verifies with the same key.
 */
export function resolveJwtSecret(config: Pick<AuthConfig, 'jwtSecret'>, settings: SettingsRepository): Uint8Array {
  if (config.jwtSecret !== '') {
    const key = new TextEncoder().encode(config.jwtSecret);
    if (key.length < MIN_JWT_SECRET_BYTES) {
      throw new InvalidInput(`auth.jwt_secret must be at least ${MIN_JWT_SECRET_BYTES} bytes long (or empty to generate one)`, { key: 'auth.jwt_secret' });
    }
    return key;
  }
  const stored = settings.getOrCreate(JWT_SECRET_SETTING, () => randomBytes(32).toString('base64url'));
  return Buffer.from(stored, 'base64url');
}

export interface SessionClaims {
  userId: number;
  /** The jti: names the session row. */
  sessionId: string;
  role: Role;
  /** Epoch ms. */
  expiresAt: number;
}

export interface SessionTokenOptions {
  ttlMs?: number;
  now?: () => number;
}

/** A random 128-bit session id, base64url. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Signs and checks session JWTs. Checking here is only cryptography and
 * claims; whether the session is still live is the service's question.
 */
export class SessionTokens {
  readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly secret: Uint8Array,
    options: SessionTokenOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  async issue(userId: number, sessionId: string, role: Role): Promise<{ token: string; expiresAt: number }> {
    // JWT times are whole seconds; the session row gets the same instant.
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + Math.ceil(this.ttlMs / 1000);
    const token = await new SignJWT({ role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(userId))
      .setJti(sessionId)
      .setIssuer(JWT_ISSUER)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .sign(this.secret);
    return { token, expiresAt: exp * 1000 };
  }

  /** The claims of a well-formed, correctly signed, current token; undefined for anything else. */
  async verify(token: string): Promise<SessionClaims | undefined> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.secret, {
        // Pinned: a token cannot choose its own algorithm (alg=none, RS256 with our secret as a "public key", HS512).
        algorithms: ['HS256'],
        issuer: JWT_ISSUER,
        currentDate: new Date(this.now()),
        requiredClaims: ['sub', 'jti', 'iat', 'nbf', 'exp'],
      }));
    } catch {
      return undefined;
    }
    const { sub, jti, exp, role } = payload;
    if (!sub || !/^[1-9]\d{0,15}$/.test(sub) || !jti || exp === undefined) return undefined;
    if (typeof role !== 'string' || !ROLES.includes(role as Role)) return undefined;
    return { userId: Number(sub), sessionId: jti, role: role as Role, expiresAt: exp * 1000 };
  }
}

/** Whether a bearer has the shape of a JWT (header.payload.signature). */
export function looksLikeJwt(bearer: string): boolean {
  return bearer.split('.').length === 3;
}

export const API_TOKEN_PREFIX = 'tfm_';
const API_TOKEN_SHAPE = /^tfm_[A-Za-z0-9_-]{43}$/;

export interface NewApiTokenSecret {
  /** Shown to the caller once, never stored. */
  token: string;
  /** sha256 hex: what the database keeps. */
  hash: string;
  /** The first 8 characters after "tfm_", for lists. */
  prefix: string;
}

/** A new opaque API token: "tfm_" + 32 random bytes in base64url. */
export function generateApiToken(): NewApiTokenSecret {
  const token = API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: hashApiToken(token), prefix: token.slice(API_TOKEN_PREFIX.length, API_TOKEN_PREFIX.length + 8) };
}

/**
 * sha256 hex. A fast hash is right for 256-bit random secrets: nothing can
 * be guessed offline, and bcrypt would put ~250 ms on every API call.
 */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function looksLikeApiToken(bearer: string): boolean {
  return API_TOKEN_SHAPE.test(bearer);
}

/** The configured bootstrap token (auth.operator_token), matched in constant time. */
export class BootstrapToken {
  private readonly digest: Buffer | undefined;

  constructor(configured: string) {
    this.digest = configured === '' ? undefined : sha256(configured);
  }

  get enabled(): boolean {
    return this.digest !== undefined;
  }

  /** Comparing digests keeps the comparison constant-time even when the lengths differ. */
  matches(presented: string): boolean {
    return this.digest !== undefined && timingSafeEqual(this.digest, sha256(presented));
  }

  principal(): Principal {
    return { kind: 'bootstrap', actor: 'operator-token', role: 'operator' };
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
