/**
 * A validator for the structural-schema subset the CRDs use (type, required,
 * enum, pattern, min/maxLength, min/maxItems, minimum, maximum, properties,
 * items, list-type set/map, date-time). Unknown fields are errors, as with
 * `kubectl apply --validate=strict`. CEL rules are checked by TypeScript
 * equivalents registered by rule text, so a new rule without one fails loudly.
 */

import type { JSONSchemaProps } from '../../operator/src/api/schema.js';

export type CelEquivalent = (self: Record<string, unknown>) => boolean;

export function validate(
  schema: JSONSchemaProps,
  value: unknown,
  cel: Record<string, CelEquivalent>,
  path = '',
): string[] {
  const errors: string[] = [];
  const at = path === '' ? '<root>' : path;
  const fail = (msg: string) => errors.push(`${at}: ${msg}`);

  if (!hasType(schema.type, value)) {
    fail(`expected ${schema.type}, got ${JSON.stringify(value)}`);
    return errors;
  }
  if (schema.enum !== undefined && !schema.enum.includes(value as string | number)) {
    fail(`${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`);
  }
  if (typeof value === 'string') {
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      fail(`${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
    if (schema.minLength !== undefined && value.length < schema.minLength) fail(`shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) fail(`longer than ${schema.maxLength}`);
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) fail(`${value} is not a date-time`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`${value} is less than ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`${value} is more than ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail(`fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`more than ${schema.maxItems} items`);
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set' || listType === 'map') {
      const keys = value.map((v) =>
        listType === 'set'
          ? JSON.stringify(v)
          : JSON.stringify((schema['x-kubernetes-list-map-keys'] ?? []).map((k) => (v as Record<string, unknown>)[k])),
      );
      if (new Set(keys).size !== keys.length) fail('duplicate entries');
    }
    value.forEach((item, i) => {
      if (schema.items !== undefined) errors.push(...validate(schema.items, item, cel, `${path}[${i}]`));
    });
  }
  if (isObject(value)) {
    for (const key of schema.required ?? []) {
      if (!(key in value)) fail(`missing required field ${key}`);
    }
    if (schema.properties !== undefined) {
      for (const [key, v] of Object.entries(value)) {
        const sub = schema.properties[key];
        if (sub === undefined) fail(`unknown field ${key}`);
        else errors.push(...validate(sub, v, cel, path === '' ? key : `${path}.${key}`));
      }
    }
    for (const rule of schema['x-kubernetes-validations'] ?? []) {
      const check = cel[rule.rule];
      if (check === undefined) throw new Error(`no TypeScript equivalent for CEL rule ${rule.rule}`);
      if (!check(value)) fail(rule.message);
    }
  }
  return errors;
}

function hasType(type: JSONSchemaProps['type'], value: unknown): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every schema node, for checks that apply everywhere (structural rules, RE2-compatible patterns). */
export function* walk(schema: JSONSchemaProps, path = '<root>'): Generator<[string, JSONSchemaProps]> {
  yield [path, schema];
  for (const [key, sub] of Object.entries(schema.properties ?? {})) yield* walk(sub, `${path}.${key}`);
  if (schema.items !== undefined) yield* walk(schema.items, `${path}[]`);
}
