/**
 * JSON documents → located tree. JSON.parse gives no positions (and Node 20
 * often omits even the syntax error's), so this small recursive-descent reader
 * tracks offsets itself. Nesting is bounded, so the recursion is too.
 */

import { positionFinder, type Located, type LocatedEntry } from './located.js';
import type { Problems } from './problems.js';
import type { Position } from './types.js';

const MAX_DEPTH = 64;

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LITERALS = { true: true, false: false, null: null } as const;

class SyntaxProblem {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/** The document's root, or undefined after reporting the (first) syntax error or duplicate keys. */
export function readJson(text: string, problems: Problems): Located | undefined {
  const reader = new Reader(text, problems);
  try {
    const root = reader.document();
    return problems.count > 0 ? undefined : root;
  } catch (err) {
    if (!(err instanceof SyntaxProblem)) throw err;
    problems.add(reader.at(err.offset), undefined, `JSON syntax error: ${err.message}`);
    return undefined;
  }
}

class Reader {
  private i = 0;
  private depth = 0;
  readonly at: (offset: number) => Position;

  constructor(
    private readonly text: string,
    private readonly problems: Problems,
  ) {
    this.at = positionFinder(text);
  }

  document(): Located {
    const root = this.value();
    this.skipSpace();
    if (this.i < this.text.length) throw new SyntaxProblem(this.i, 'unexpected text after the document');
    return root;
  }

  private value(): Located {
    this.skipSpace();
    const start = this.i;
    const pos = this.at(start);
    const c = this.text[start];
    if (c === '{' || c === '[') {
      if (++this.depth > MAX_DEPTH) throw new SyntaxProblem(start, `nested more than ${MAX_DEPTH} levels deep`);
      const node = c === '{' ? this.object(pos) : this.array(pos);
      this.depth--;
      return node;
    }
    if (c === '"') return { kind: 'scalar', pos, value: this.string() };
    NUMBER.lastIndex = start;
    const number = NUMBER.exec(this.text);
    if (number) {
      this.i = NUMBER.lastIndex;
      return { kind: 'scalar', pos, value: Number(number[0]) };
    }
    for (const [word, value] of Object.entries(LITERALS)) {
      if (this.text.startsWith(word, start)) {
        this.i += word.length;
        return { kind: 'scalar', pos, value };
      }
    }
    throw new SyntaxProblem(start, c === undefined ? 'expected a value, got the end of the input' : 'expected a value');
  }

  private object(pos: Position): Located {
    this.i++; // {
    const entries: LocatedEntry[] = [];
    const seen = new Set<string>();
    if (this.peek() === '}') return this.close({ kind: 'map', pos, entries });
    for (;;) {
      if (this.peek() !== '"') {
        throw new SyntaxProblem(this.i, this.closerOrExpected('}', 'a property name in double quotes'));
      }
      const keyPos = this.at(this.i);
      const key = this.string();
      if (seen.has(key)) this.problems.add(keyPos, key, 'duplicate key');
      seen.add(key);
      if (this.peek() !== ':') {
        throw new SyntaxProblem(this.i, `expected ':' after property name ${JSON.stringify(key)}`);
      }
      this.i++;
      entries.push({ key, keyPos, value: this.value() });
      const next = this.peek();
      if (next === '}') return this.close({ kind: 'map', pos, entries });
      if (next !== ',') throw new SyntaxProblem(this.i, "expected ',' or '}' after a property value");
      this.i++;
      this.skipSpace();
    }
  }

  private array(pos: Position): Located {
    this.i++; // [
    const items: Located[] = [];
    if (this.peek() === ']') return this.close({ kind: 'list', pos, items });
    for (;;) {
      if (this.peek() === ']') throw new SyntaxProblem(this.i, 'trailing comma before ]');
      items.push(this.value());
      const next = this.peek();
      if (next === ']') return this.close({ kind: 'list', pos, items });
      if (next !== ',') throw new SyntaxProblem(this.i, "expected ',' or ']' after an array element");
      this.i++;
    }
  }

  private close(node: Located): Located {
    this.i++;
    return node;
  }

  /** Message for a missing property name: a trailing comma is the usual cause. */
  private closerOrExpected(closer: string, expected: string): string {
    return this.text[this.i] === closer ? `trailing comma before ${closer}` : `expected ${expected}`;
  }

  /** Reads a string token at `i` (on its opening quote) and returns its value. */
  private string(): string {
    const start = this.i;
    let k = start + 1;
    for (;;) {
      const code = this.text.charCodeAt(k);
      if (Number.isNaN(code)) throw new SyntaxProblem(start, 'unterminated string');
      if (code === 0x22) break; // closing quote
      if (code < 0x20) throw new SyntaxProblem(k, 'unescaped control character (a line break?) in a string');
      if (code === 0x5c) {
        const escape = this.text.slice(k + 1, k + 6);
        if (/^["\\/bfnrt]/.test(escape)) k += 2;
        else if (/^u[0-9a-fA-F]{4}/.test(escape)) k += 6;
        else throw new SyntaxProblem(k, 'invalid escape sequence in a string');
      } else k++;
    }
    this.i = k + 1;
    return JSON.parse(this.text.slice(start, this.i)) as string;
  }

  private peek(): string | undefined {
    this.skipSpace();
    return this.text[this.i];
  }

  private skipSpace(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i]!)) this.i++;
  }
}
