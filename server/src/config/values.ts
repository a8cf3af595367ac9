/**
 * Turning raw values into typed ones: HCL gives JSON-typed values (and is held
 * to them: a quoted "5" is not a number), the environment gives only strings
 * (so "5", "true" and "a,b" are parsed). Both share the range checks and the
 * duration/size syntax.
 */
import type { Kind, Value } from './schema.js';

export type Coerced = { ok: true; value: Value } | { ok: false; error: string };

const ok = (value: Value): Coerced => ({ ok: true, value });
const fail = (error: string): Coerced => ({ ok: false, error });

const EXPECTED: Record<Kind['type'], string> = {
  string: 'a string',
  path: 'a string (a path)',
  bool: 'a bool',
  int: 'an integer',
  duration: 'a duration (seconds, or a string like "30s", "15m", "1h")',
  size: 'a size (bytes, or a string like "500MiB", "2GiB", "10MB")',
  enum: 'a string',
  list: 'a list of strings',
};

export function fromHcl(kind: Kind, raw: unknown): Coerced {
  const wrongType = (): Coerced => fail(`expected ${EXPECTED[kind.type]}, got ${describe(raw)}`);
  switch (kind.type) {
    case 'string':
    case 'path':
      return typeof raw === 'string' ? ok(raw) : wrongType();
    case 'enum':
      return typeof raw === 'string' ? oneOf(kind.values, raw) : wrongType();
    case 'bool':
      return typeof raw === 'boolean' ? ok(raw) : wrongType();
    case 'int':
      return typeof raw === 'number' && Number.isInteger(raw) ? inRange(kind, raw, String) : wrongType();
    case 'duration':
      return typeof raw === 'number' || typeof raw === 'string' ? parsed(kind, parseDuration(raw), formatDuration) : wrongType();
    case 'size':
      return typeof raw === 'number' || typeof raw === 'string' ? parsed(kind, parseSize(raw), String) : wrongType();
    case 'list':
      return Array.isArray(raw) && raw.every((x) => typeof x === 'string') ? ok(raw as string[]) : wrongType();
  }
}

export function fromEnv(kind: Kind, text: string): Coerced {
  switch (kind.type) {
    case 'string':
    case 'path':
      return ok(text);
    case 'enum':
      return oneOf(kind.values, text);
    case 'bool':
      return parseBool(text);
    case 'int':
      return /^\s*[+-]?\d+\s*$/.test(text)
        ? inRange(kind, Number(text), String)
        : fail(`expected an integer, got ${JSON.stringify(text)}`);
    case 'duration':
      return parsed(kind, parseDuration(text), formatDuration);
    case 'size':
      return parsed(kind, parseSize(text), String);
    case 'list':
      // Comma-separated because an env var is one string; blanks dropped so "" means an empty list.
      return ok(
        text
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      );
  }
}

function parseBool(text: string): Coerced {
  const t = text.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(t)) return ok(true);
  if (['false', '0', 'no'].includes(t)) return ok(false);
  return fail(`expected a bool (true/false/1/0/yes/no), got ${JSON.stringify(text)}`);
}

function oneOf(values: readonly string[], v: string): Coerced {
  return values.includes(v) ? ok(v) : fail(`must be one of ${values.join(', ')}; got ${JSON.stringify(v)}`);
}

function inRange(kind: { min: number; max: number }, n: number, show: (n: number) => string): Coerced {
  if (n >= kind.min && n <= kind.max) return ok(n);
  return fail(`must be between ${show(kind.min)} and ${show(kind.max)}, got ${show(n)}`);
}

function parsed(kind: { min: number; max: number }, r: number | string, show: (n: number) => string): Coerced {
  return typeof r === 'string' ? fail(r) : inRange(kind, r, show);
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Whole seconds from a number or "90", "30s", "15m", "1h30m", "7d"; a string is an error message. */
export function parseDuration(raw: number | string): number | string {
  const bad = `expected ${EXPECTED.duration}, got ${describe(raw)}`;
  if (typeof raw === 'number') return Number.isInteger(raw) && raw >= 0 ? raw : bad;
  const t = raw.trim().toLowerCase();
  if (/^\d+$/.test(t)) return Number(t);
  if (!/^(\d+[smhd])+$/.test(t)) return bad;
  let total = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)([smhd])/g)) total += Number(n) * DURATION_UNITS[unit!]!;
  return total;
}

export function formatDuration(seconds: number): string {
  for (const [unit, n] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds > 0 && seconds % n === 0) return `${seconds / n}${unit}`;
  }
  return `${seconds}s`;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Bytes from a number or "1048576", "500MiB", "1.5GB"; a string is an error message. */
export function parseSize(raw: number | string): number | string {
  const bad = `expected ${EXPECTED.size}, got ${describe(raw)}`;
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? raw : bad;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = SIZE_UNITS[(m?.[2] || 'b').toLowerCase()];
  if (!m || unit === undefined) return bad;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : bad;
}

/** A short description of a raw HCL value for "expected X, got Y" messages. */
export function describe(raw: unknown): string {
  if (typeof raw === 'string') return `string ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 57)}...` : raw)}`;
  if (typeof raw === 'number') return `number ${raw}`;
  if (typeof raw === 'boolean') return `bool ${raw}`;
  if (raw === null) return 'null';
  if (Array.isArray(raw)) {
    return raw.length > 0 && raw.every(isPlainObject) ? 'a block' : 'a list';
  }
  return 'an object';
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
