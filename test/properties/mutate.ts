/**
 * Mutations of valid inputs: random strings alone rarely get past a parser's
 * first character, while a valid document with a few flipped bytes, a cut, a
 * repeated line (duplicate keys) or an inserted token reaches every branch.
 */

import fc from 'fast-check';

/** Tokens that mean something to one of the formats, or to a parser's limits. */
export const NASTY_TOKENS: readonly string[] = [
  '{', '}', '[', ']', '(', ')', '"', "'", '`', ',', '=', ':', ';', '\\', '/', '.', '..', '*', '#', '//', '/*', '*/',
  '${', '%{', '}}', '$${', '<<EOT\n', '<<-EOT\n', 'EOT\n', '\n', '\r\n', '\t', ' ', '\u0000', '\u007f', '\uFEFF',
  '\u2028', '\u00e9', '\u{1F600}', '\uD800', '\uDFFF', '- ', '? ', '&a ', '*a', '!!binary ', '!!str ', '---\n',
  '...\n', '|\n', '>\n', '%YAML 1.2\n', '<<: *a\n', 'null', 'true', 'false', '~', 'NaN', '-0', '0x1F', '1e309',
  '-1e309', '9007199254740993', '99999999999999999999999999999999', '1.7976931348623157e308', '0.0000001',
  '__proto__', 'constructor', 'toString', '%00', '%2e%2e', '%2f', '%zz', '%', '\u0085',
];

/** Deep nesting of brackets, braces, YAML sequences or indentation. */
const nesting: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('[', '{', '(', '[{"a":', '- ', '  ', 'a: ', '{a = '), fc.integer({ min: 2, max: 300 }))
  .map(([unit, n]) => unit.repeat(n));

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

const hugeNumber = fc.oneof(
  fc.bigInt({ min: 2n ** 53n, max: 10n ** 40n }).map(String),
  fc.double().map(String),
  fc.integer().map(String),
);

export const insertion: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_TOKENS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 8 }) },
  { weight: 1, arbitrary: hugeNumber },
  { weight: 1, arbitrary: nesting },
  { weight: 1, arbitrary: loneSurrogate },
);

type TextOp =
  | { kind: 'replace'; at: number; text: string }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicateLine'; at: number }
  | { kind: 'repeat'; at: number; length: number; times: number };

const textOp: fc.Arbitrary<TextOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: insertion }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: insertion }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('duplicateLine' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('repeat' as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 40 }),
      times: fc.integer({ min: 2, max: 50 }),
    }),
  },
);

function applyTextOp(s: string, op: TextOp): string {
  const at = op.at % (s.length + 1);
  switch (op.kind) {
    case 'replace':
      return s.slice(0, at) + op.text + s.slice(at + 1);
    case 'insert':
      return s.slice(0, at) + op.text + s.slice(at);
    case 'truncate':
      return s.slice(0, at);
    case 'delete':
      return s.slice(0, at) + s.slice(at + op.length);
    case 'duplicateLine': {
      const start = s.lastIndexOf('\n', at - 1) + 1;
      const nl = s.indexOf('\n', at);
      const end = nl === -1 ? s.length : nl + 1;
      const line = s.slice(start, end);
      return s.slice(0, end) + (line.endsWith('\n') ? line : `\n${line}`) + s.slice(end);
    }
    case 'repeat': {
      const piece = s.slice(at, at + op.length);
      return s.slice(0, at) + piece.repeat(op.times) + s.slice(at);
    }
  }
}

/** One of `valids`, with 1 to `maxOps` mutations applied in order. */
export function mutatedText(valids: fc.Arbitrary<string>, maxOps = 5): fc.Arbitrary<string> {
  return fc
    .tuple(valids, fc.array(textOp, { minLength: 1, maxLength: maxOps }))
    .map(([s, ops]) => ops.reduce(applyTextOp, s));
}

type ByteOp =
  | { kind: 'flipBit'; at: number; bit: number }
  | { kind: 'setByte'; at: number; value: number }
  | { kind: 'setField'; at: number; width: 2 | 4; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'duplicate'; at: number; length: number };

// Header fields (sizes, offsets, counts, name lengths) are where a zip lies; these are the values that hurt.
const FIELD_VALUES = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flipBit' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('setByte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('setField' as const),
      at: fc.nat(),
      width: fc.constantFrom(2 as const, 4 as const),
      value: fc.oneof(fc.constantFrom(...FIELD_VALUES), fc.nat()),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 256 }) }),
  },
);

function applyByteOp(b: Buffer, op: ByteOp): Buffer {
  const at = op.at % (b.length + 1);
  switch (op.kind) {
    case 'flipBit':
    case 'setByte': {
      if (at >= b.length) return b;
      const out = Buffer.from(b);
      out[at] = op.kind === 'flipBit' ? out[at]! ^ (1 << op.bit) : op.value;
      return out;
    }
    case 'setField': {
      if (at + op.width > b.length) return b;
      const out = Buffer.from(b);
      if (op.width === 2) out.writeUInt16LE(op.value & 0xffff, at);
      else out.writeUInt32LE(op.value >>> 0, at);
      return out;
    }
    case 'truncate':
      return b.subarray(0, at);
    case 'insert':
      return Buffer.concat([b.subarray(0, at), op.bytes, b.subarray(at)]);
    case 'duplicate':
      return Buffer.concat([b.subarray(0, at + op.length), b.subarray(at, at + op.length), b.subarray(at + op.length)]);
  }
}

/** One of `valids`, with 1 to `maxOps` byte-level mutations applied in order. */
export function mutatedBytes(valids: fc.Arbitrary<Buffer>, maxOps = 4): fc.Arbitrary<Buffer> {
  return fc
    .tuple(valids, fc.array(byteOp, { minLength: 1, maxLength: maxOps }))
    .map(([b, ops]) => ops.reduce(applyByteOp, b));
}
