/**
 * Collects every problem of one document so an operator fixes them in one
 * round, then reports them as a single InvalidInput ("file:line:column: …"
 * per line) whose details point at the first.
 */

import { InvalidInput } from '../../errors.js';
import type { Position } from './types.js';

interface Problem {
  pos: Position;
  key: string | undefined;
  message: string;
}

// A broken 1,000-provider file could produce thousands of lines; the first
// ones are enough to start fixing, and the count says how much is left.
const MAX_LISTED = 50;

export class Problems {
  private readonly list: Problem[] = [];

  constructor(readonly file: string) {}

  /** `key` is the path of the offending value (`providers[0].platforms[1]`), shown before the message. */
  add(pos: Position, key: string | undefined, message: string): void {
    this.list.push({ pos, key, message });
  }

  get count(): number {
    return this.list.length;
  }

  throwIfAny(): void {
    if (this.list.length === 0) return;
    const sorted = [...this.list].sort(
      (a, b) => a.pos.line - b.pos.line || (a.pos.column ?? 0) - (b.pos.column ?? 0),
    );
    const lines = sorted.slice(0, MAX_LISTED).map((p) => this.format(p));
    if (sorted.length > MAX_LISTED) lines.push(`... and ${sorted.length - MAX_LISTED} more problems`);
    const first = sorted[0]!;
    const details: InvalidInput['details'] = { file: this.file, line: first.pos.line };
    if (first.pos.column !== undefined) details.column = first.pos.column;
    if (first.key !== undefined) details.key = first.key;
    throw new InvalidInput(lines.join('\n'), details);
  }

  private format(p: Problem): string {
    const where = p.pos.column === undefined ? `${p.pos.line}` : `${p.pos.line}:${p.pos.column}`;
    return `${this.file}:${where}: ${p.key === undefined ? '' : `${p.key}: `}${p.message}`;
  }
}
