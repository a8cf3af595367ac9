/**
 * A small schema DSL for the custom resources: each builder returns the
 * field's CRD schema (JSONSchemaProps, rendered into crds/) and the server's
 * zod check of the same field, built in one call, with the TypeScript type
 * inferred from it. v1alpha1.ts writes each spec once with these; the CRDs,
 * the operator's types and the server's validation of provider-set bodies
 * all come from there.
 *
 * The two checks differ on purpose in one respect. What a provider
 * definition *means* (address syntax, version constraints, known platforms,
 * `latest` limits) is decided by the server's definitions parser, which
 * names the field in its own words for every way of loading definitions;
 * the CRD repeats those checks as patterns and enums so `kubectl apply`
 * refuses early. Fields marked `semantic` are therefore checked by type only
 * on the server, and patterns never are. Bounds, enums, required fields and
 * cross-field rules apply on both sides.
 *
 * Pure: imports zod and nothing with I/O, so the server may import it.
 */

import { z } from 'zod';
import type { CelValidation, JSONSchemaProps } from './schema.js';

/** One field: its CRD schema and the server's check. `T` is the field's TypeScript type. */
export interface Field<T> {
  readonly json: JSONSchemaProps;
  readonly zod: z.ZodType<T>;
}

export type Infer<F> = F extends Field<infer T> ? T : never;

interface Common {
  description?: string;
  /** Its meaning is checked by the server's definitions parser: the server checks only the type here. */
  semantic?: boolean;
}

/** A rule across fields: CEL for the apiserver and the same predicate for the server, side by side. */
export interface Rule {
  cel: CelValidation;
  holds(value: Record<string, unknown>): boolean;
}

type JsonExtras = Omit<JSONSchemaProps, 'type' | 'properties' | 'items' | 'required' | 'x-kubernetes-validations'>;

function jsonOf(type: JSONSchemaProps['type'], options: Common & JsonExtras): JSONSchemaProps {
  const { semantic: _semantic, ...json } = options;
  return { type, ...json };
}

function described<S extends z.ZodType>(schema: S, description: string | undefined): S {
  return description === undefined ? schema : (schema.describe(description) as S);
}

export interface StringOptions extends Common {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: 'date-time';
  /** Allowed values; the type stays string (see oneOf for a literal union). */
  enum?: readonly string[];
  default?: string;
}

export function string(options: StringOptions = {}): Field<string> {
  const { enum: values, ...rest } = options;
  const json = jsonOf('string', { ...rest, ...(values ? { enum: [...values] } : {}) });
  let check: z.ZodType<string> = z.string();
  if (!options.semantic) {
    let s = z.string();
    if (options.minLength !== undefined) s = s.min(options.minLength);
    if (options.maxLength !== undefined) s = s.max(options.maxLength);
    check = values ? s.refine((v) => values.includes(v), { message: `expected one of ${values.join(', ')}` }) : s;
  }
  return { json, zod: described(check, options.description) };
}

/** A string that is one of `values`, typed as their union. */
export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
  options: Common & { default?: V[number] } = {},
): Field<V[number]> {
  const { default: def, ...rest } = options;
  const json = jsonOf('string', { ...rest, enum: [...values], ...(def === undefined ? {} : { default: def }) });
  const check = (options.semantic ? z.string() : z.enum(values)) as z.ZodType<V[number]>;
  return { json, zod: described(check, options.description) };
}

export interface IntegerOptions extends Common {
  format?: 'int32' | 'int64';
  minimum?: number;
  maximum?: number;
}

export function integer(options: IntegerOptions = {}): Field<number> {
  let check = z.number().int();
  if (!options.semantic) {
    if (options.minimum !== undefined) check = check.min(options.minimum);
    if (options.maximum !== undefined) check = check.max(options.maximum);
  }
  return { json: jsonOf('integer', options), zod: described(check, options.description) };
}

export interface ArrayOptions extends Common {
  minItems?: number;
  maxItems?: number;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
}

export function array<T>(items: Field<T>, options: ArrayOptions = {}): Field<T[]> {
  let check = z.array(items.zod);
  if (!options.semantic) {
    if (options.minItems !== undefined) check = check.min(options.minItems);
    if (options.maxItems !== undefined) check = check.max(options.maxItems);
  }
  return { json: { ...jsonOf('array', options), items: items.json }, zod: described(check, options.description) };
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Required keys as given, the others optional. */
export type ObjectOf<P extends Record<string, Field<unknown>>, R extends keyof P> = Simplify<
  { [K in R]: Infer<P[K]> } & { [K in Exclude<keyof P, R>]?: Infer<P[K]> }
>;

export interface ObjectOptions<R extends string> extends Common {
  required?: readonly R[];
  rules?: readonly Rule[];
  /**
   * Keep unknown keys for the server's definitions parser, which names them
   * (the default drops them, as the apiserver prunes unknown fields).
   */
  passUnknown?: boolean;
}

export function object<P extends Record<string, Field<unknown>>, R extends keyof P & string = never>(
  properties: P,
  options: ObjectOptions<R> = {},
): Field<ObjectOf<P, R>> {
  const required = new Set<string>(options.required ?? []);
  const json: JSONSchemaProps = { type: 'object' };
  if (options.description !== undefined) json.description = options.description;
  if (required.size > 0) json.required = [...required];
  if (options.rules?.length) json['x-kubernetes-validations'] = options.rules.map((r) => r.cel);
  json.properties = Object.fromEntries(Object.entries(properties).map(([k, f]) => [k, f.json]));

  const shape = Object.fromEntries(Object.entries(properties).map(([k, f]) => [k, required.has(k) ? f.zod : f.zod.optional()]));
  const base = options.passUnknown ? z.looseObject(shape) : z.object(shape);
  let check: z.ZodType = base;
  for (const rule of options.rules ?? []) {
    check = check.refine((v) => rule.holds(v as Record<string, unknown>), { message: rule.cel.message });
  }
  return { json, zod: described(check, options.description) as z.ZodType<ObjectOf<P, R>> };
}

/** An object the schema leaves open (metadata: the apiserver validates it itself). */
export function anyObject(): Field<Record<string, unknown>> {
  return { json: { type: 'object' }, zod: z.record(z.string(), z.unknown()) };
}
