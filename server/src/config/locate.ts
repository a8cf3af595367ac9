/**
 * Best-effort source positions for HCL keys. hcl2json returns plain JSON with
 * no positions, so to point an operator at the offending line we re-scan the
 * text with a tiny lexer that knows just enough HCL (strings, templates,
 * heredocs, comments, brackets) to tell attributes and block headers apart.
 * It never decides validity (hcl2json already did); it only maps dotted paths
 * like `server.listen` or `upstream["example.com"].url` to where they appear.
 */

import { lexHcl, skipHclExpression, type HclToken } from '../hcl/lex.js';

export interface Position {
  line: number;
  column: number;
}

/** Dotted path → every place it appears (more than one means a repeated block or an ambiguous key). */
export type Locations = Map<string, Position[]>;

type Token = HclToken;

/** Path segment for a block: `server`, or `upstream["registry.terraform.io"]` for a labeled one. */
export function blockSegment(name: string, labels: readonly string[]): string {
  return name + labels.map((l) => `[${JSON.stringify(l)}]`).join('');
}

export function locateKeys(text: string): Locations {
  const tokens = lexHcl(text, (quoted) => quoted.slice(1, -1));
  const toPosition = positionFinder(text);
  const out: Locations = new Map();
  const record = (path: string, at: number): void => {
    const list = out.get(path) ?? [];
    list.push(toPosition(at));
    out.set(path, list);
  };
  const stack: string[] = [];
  let k = 0;
  while (k < tokens.length) {
    const t = tokens[k]!;
    if (t.kind === 'punct' && t.text === '}') stack.pop();
    if (t.kind !== 'ident') {
      k++;
      continue;
    }
    const next = tokens[k + 1];
    if (next?.kind === 'punct' && next.text === '=') {
      record([...stack, t.text].join('.'), t.at);
      k = skipHclExpression(tokens, k + 2);
      continue;
    }
    let j = k + 1;
    const labels: string[] = [];
    while (tokens[j]?.kind === 'string' || tokens[j]?.kind === 'ident') labels.push(tokens[j++]!.text);
    if (tokens[j]?.text === '{') {
      stack.push(blockSegment(t.text, labels));
      record(stack.join('.'), t.at);
      k = j + 1;
    } else {
      k++;
    }
  }
  return out;
}




function positionFinder(text: string): (at: number) => Position {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  return (at) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: at - lineStarts[lo]! + 1 };
  };
}
