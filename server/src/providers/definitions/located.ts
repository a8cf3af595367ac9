/**
 * A format-neutral document tree with source positions. Each format's reader
 * (YAML, JSON, HCL) produces one, so the schema rules and their messages are
 * written once and every error can point at a line and column.
 */

import type { Position } from './types.js';

export type Scalar = string | number | boolean | null;

export type Located =
  | { kind: 'map'; pos: Position; entries: LocatedEntry[] }
  | { kind: 'list'; pos: Position; items: Located[] }
  /**
   * `expression` is set for HCL values that are not literals (`foo`, `"${var.x}"`);
   * `raw` is the source text of a YAML number or boolean, for messages.
   */
  | { kind: 'scalar'; pos: Position; value: Scalar; expression?: string; raw?: string };

export interface LocatedEntry {
  key: string;
  keyPos: Position;
  value: Located;
}

/** "string \"x\"", "number 3", "a list", … for "expected X, got Y" messages. */
export function describe(node: Located): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'list') return 'a list';
  if (node.expression !== undefined) return `the expression ${node.expression}`;
  const v = node.value;
  if (v === null) return 'null';
  // YAML turns `1.10` into the number 1.1; show what was written.
  const shown = node.raw ?? (typeof v === 'number' ? String(v) : JSON.stringify(v));
  return `${typeof v} ${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown}`;
}

/** Maps text offsets to 1-based line/column, for readers that know offsets. */
export function positionFinder(text: string): (offset: number) => Position {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - lineStarts[lo]! + 1 };
  };
}
