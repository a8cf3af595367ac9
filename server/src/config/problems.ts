/**
 * Where a setting came from, and the collector of configuration problems.
 * Loading reports every problem at once (one line each) instead of stopping at
 * the first, so an operator fixes a broken config in one round trip.
 */
import { InvalidInput } from '../errors.js';
import { envName, type Value } from './schema.js';

export type Origin =
  | { source: 'default'; dir: string }
  | { source: 'file'; file: string; dir: string; line?: number; column?: number }
  | { source: 'env'; name: string; dir: string };

/** One resolved key: its dotted HCL path, typed value and where it was set (relative paths resolve against origin.dir). */
export interface Setting {
  key: string;
  value: Value;
  origin: Origin;
}

type Details = InvalidInput['details'];

export class Problems {
  private readonly lines: { message: string; details: Details; rank: number }[] = [];

  get count(): number {
    return this.lines.length;
  }

  /** A problem with `key`, prefixed by where its value came from. */
  at(origin: Origin, key: string, message: string): void {
    switch (origin.source) {
      case 'file': {
        const pos = origin.line === undefined ? '' : `:${origin.line}:${origin.column ?? 1}`;
        this.raw(`${origin.file}${pos}: ${key}: ${message}`, {
          file: origin.file,
          line: origin.line,
          column: origin.line === undefined ? undefined : (origin.column ?? 1),
          key,
        });
        return;
      }
      case 'env': {
        // The variable already names the key unless the problem is about a neighbour (e.g. the bucket an s3 type needs).
        const subject = envName(key) === origin.name ? '' : `${key}: `;
        this.raw(`${origin.name}: ${subject}${message}`, { key });
        return;
      }
      case 'default':
        this.raw(`${key}: ${message}`, { key });
    }
  }

  raw(message: string, details: Details): void {
    // File problems in line order (hcl2json sorts keys, so walking order is not file order), then the rest as found.
    const rank = details.file === undefined ? Infinity : (details.line ?? Number.MAX_SAFE_INTEGER);
    this.lines.push({ message, details: dropUndefined(details), rank });
  }

  /** One InvalidInput listing every problem on its own line; details are the first listed problem's. */
  throwIfAny(): void {
    const sorted = [...this.lines].sort((a, b) => (a.rank === b.rank ? 0 : a.rank < b.rank ? -1 : 1));
    const first = sorted[0];
    if (!first) return;
    throw new InvalidInput(sorted.map((l) => l.message).join('\n'), first.details);
  }
}

function dropUndefined(d: Details): Details {
  return Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) as Details;
}

/** "; did you mean X?" for the closest candidate within a few edits, else "". */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 4)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best === undefined ? '' : `; did you mean ${best}?`;
}

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions, the commonest typo. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]![j]!;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, at(i - 2, j - 2) + 1);
      rows[i]![j] = d;
    }
  }
  return at(a.length, b.length);
}
