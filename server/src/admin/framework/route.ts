import type { z } from 'zod';
import type { Access, Principal } from '../principal.js';

/** What a handler may know about the request: no Koa context (services never see it). */
export interface RequestInfo {
  requestId: string;
  ip: string;
  userAgent: string;
  /** Set for every route but the public ones. */
  principal?: Principal;
  /** The raw Authorization bearer token, for logout. */
  bearer?: string;
  signal: AbortSignal;
}

export interface HandlerInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** For routes with `rawBody`: the body text and its media type. */
  raw?: { text: string; contentType: string };
  req: RequestInfo;
}

export interface HandlerResult {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** What the audit entry names (for routes with `audit`); `action` replaces the route's when the outcome decides it (PATCH status → module.block). */
  audit?: { resource?: string; details?: Record<string, unknown>; actor?: string; action?: string };
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
}

/**
 * One admin API route: the single declaration from which the router, request
 * validation, authorization, auditing and the OpenAPI document are all built.
 */
export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Relative to /admin/api, Koa style: "/providers/:id". */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Accept the body as text in these media types instead of JSON (e.g. HCL, YAML). */
  rawBody?: { contentTypes: string[]; maxBytes?: number };
  responses: Record<number, ResponseSpec>;
  /** Audit action name; every call (success or failure) is recorded when set. */
  audit?: string;
  handler(input: HandlerInput<P, Q, B>): Promise<HandlerResult>;
}

/** Keeps the generic types of one route while collecting many in a list. */
export function route<P, Q, B>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec as unknown as RouteSpec;
}
