/**
 * Who is calling the admin API. Roles: `admin` may do everything; `viewer`
 * reads; `operator` manages provider sets and jobs (the Kubernetes operator
 * and CI pipelines). Each route lists the roles it admits.
 */
export type Role = 'admin' | 'operator' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

export interface Principal {
  kind: 'user' | 'token' | 'bootstrap';
  /** Stable identifier for audit: "user:alice", "token:ci#7", "operator-token". */
  actor: string;
  role: Role;
  userId?: number;
  /** The JWT jti, for logout and session management. */
  sessionId?: string;
  tokenId?: number;
}

/** Who may call a route: named roles, or anyone. */
export type Access = readonly Role[] | 'public';

export const READERS: readonly Role[] = ['admin', 'viewer'];
export const ADMINS: readonly Role[] = ['admin'];
/** Jobs and loads: people, automation and the operator. */
export const JOB_ROLES: readonly Role[] = ['admin', 'operator'];
export const JOB_READERS: readonly Role[] = ['admin', 'operator', 'viewer'];
