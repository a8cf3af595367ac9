/**
 * YAML documents → located tree. The `yaml` package keeps each node's source
 * range; a LineCounter turns offsets into line/column.
 */

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { Located, LocatedEntry, Scalar } from './located.js';
import type { Problems } from './problems.js';
import type { Position } from './types.js';

// Aliases are handy for sharing a platform list; many of them only serve to
// multiply work (the "billion laughs" shape), so they are bounded like
// yaml's own toJS does by default.
const MAX_ALIASES = 100;

/** The document's root, null for an empty document, undefined after reporting syntax errors. */
export function readYaml(text: string, problems: Problems): Located | null | undefined {
  const lineCounter = new LineCounter();
  // uniqueKeys is checked in convertNode: the yaml package's own check compares
  // every key with every earlier one (22 s of CPU for 49,000 keys).
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, version: '1.2' });
  const at = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  for (const err of doc.errors) problems.add(at(err.pos[0]), undefined, `YAML syntax error: ${err.message}`);
  if (doc.errors.length > 0) return undefined;
  if (doc.contents === null) return null;
  const converter = new Converter(text, at, problems);
  const root = converter.convert(doc.contents as Node);
  return problems.count > 0 ? undefined : root;
}

class Converter {
  private readonly anchors = new Map<string, Located>();
  private aliases = 0;

  constructor(
    private readonly text: string,
    private readonly at: (offset: number) => Position,
    private readonly problems: Problems,
  ) {}

  convert(node: Node): Located {
    const pos = this.at(node.range?.[0] ?? 0);
    if (isAlias(node)) return this.alias(node.source, pos);
    const located = this.convertNode(node, pos);
    // Registered after conversion, so an alias inside its own anchor stays unresolved (no cycles).
    if (node.anchor) this.anchors.set(node.anchor, located);
    return located;
  }

  private convertNode(node: Node, pos: Position): Located {
    if (isMap(node)) {
      const entries: LocatedEntry[] = [];
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        const keyPos = key?.range ? this.at(key.range[0]) : pos;
        if (!isScalar(key) || (typeof key.value !== 'string' && typeof key.value !== 'number')) {
          this.problems.add(keyPos, undefined, 'mapping keys must be plain strings');
          continue;
        }
        if (seen.has(String(key.value))) {
          this.problems.add(keyPos, undefined, 'YAML syntax error: Map keys must be unique');
          continue;
        }
        seen.add(String(key.value));
        const value = pair.value as Node | null;
        const located: Located = value ? this.convert(value) : { kind: 'scalar', pos: keyPos, value: null };
        entries.push({ key: String(key.value), keyPos, value: located });
      }
      return { kind: 'map', pos, entries };
    }
    if (isSeq(node)) return { kind: 'list', pos, items: node.items.map((item) => this.item(item as Node | null, pos)) };
    if (isScalar(node)) {
      const value = scalarValue(node.value);
      if (typeof value === 'string' || value === null || !node.range) return { kind: 'scalar', pos, value };
      return { kind: 'scalar', pos, value, raw: this.text.slice(node.range[0], node.range[1]) };
    }
    return { kind: 'scalar', pos, value: null };
  }

  private item(node: Node | null, listPos: Position): Located {
    return node ? this.convert(node) : { kind: 'scalar', pos: listPos, value: null };
  }

  private alias(name: string, pos: Position): Located {
    const target = this.anchors.get(name);
    if (++this.aliases > MAX_ALIASES) {
      this.problems.add(pos, undefined, `more than ${MAX_ALIASES} aliases`);
    } else if (!target) {
      this.problems.add(pos, undefined, `alias *${name} refers to no earlier anchor &${name}`);
    }
    return target ? { ...target, pos } : { kind: 'scalar', pos, value: null };
  }
}

function scalarValue(v: unknown): Scalar {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return v;
  return String(v);
}
