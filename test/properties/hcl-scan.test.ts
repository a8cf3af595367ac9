/**
 * Property tests for the HCL position scanners (hcl/lex.ts, the definitions'
 * scanHcl, config's locateKeys) and the reading of hcl2json's messages: they
 * run on text hcl2json may have accepted or refused, so any text must give
 * positions, fast, and never a crash. Pure and fast, so many runs.
 */

import test from 'ava';
import fc from 'fast-check';
import { locateKeys } from '../../server/src/config/locate.js';
import { hclDiagnostics } from '../../server/src/hcl/diagnostics.js';
import { lexHcl, skipString, skipTemplate } from '../../server/src/hcl/lex.js';
import { scanHcl } from '../../server/src/providers/definitions/hcl-scan.js';
import { providerModels } from './arbitraries.js';
import { toHcl, validConfig } from './documents.js';
import { assertProperty, outcome } from './helpers.js';
import { mutatedText } from './mutate.js';

// CPU time per case for scanning a few KB; a quadratic loop or runaway regex shows up far above it.
const CPU_MS = 250;

const hclText = fc.oneof(
  mutatedText(fc.oneof(providerModels.map(toHcl), validConfig), 8),
  fc.string({ unit: fc.constantFrom('"', '$', '%', '{', '}', '\\', '<<', 'EOT', '\n', '#', '/*', '*/', '//', 'a', '=', '[', ']'), maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

test.serial('scanning any HCL-like text for positions gives positions, never a crash', async (t) => {
  await assertProperty(
    t,
    hclText,
    async (text) => {
      await outcome(
        () => {
          const tokens = lexHcl(text, (q) => q);
          for (const tok of tokens) if (tok.at < 0 || tok.at >= text.length) throw new Error(`token offset ${tok.at} outside the text`);
          scanHcl(text);
          locateKeys(text);
        },
        { cpuMs: CPU_MS, allowed: [] },
      );
    },
    { numRuns: 3000 },
  );
});

test.serial('reading any hcl2json message gives diagnostics, never a crash', async (t) => {
  const diagnostic = fc
    .tuple(fc.nat(9999), fc.nat(999), fc.nat(9999), fc.nat(999), fc.string({ maxLength: 40 }))
    .map(([l1, c1, l2, c2, text]) => `input.hcl:${l1},${c1}-${l2},${c2}: ${text}`);
  const message = fc.oneof(
    fc.array(diagnostic, { maxLength: 4 }).map((ds) => `parse config: [${ds.join(' ')}]`),
    mutatedText(fc.array(diagnostic, { minLength: 1, maxLength: 3 }).map((ds) => `parse config: [${ds.join(' ')}]`)),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );
  await assertProperty(t, message, async (m) => void (await outcome(() => hclDiagnostics(m), { cpuMs: CPU_MS, allowed: [] })), {
    numRuns: 2000,
  });
});

// Found while reading the scanners for these properties (random mutations rarely nest this deep):
// strings and templates nest inside each other ("${"${x}"}", valid HCL), and skipString and
// skipTemplate recursed once per level, so deep nesting threw RangeError.
test('templates nested 20,000 deep are scanned without overflowing the stack', (t) => {
  const text = `x = ${'"${'.repeat(20_000)}"a"${'}"'.repeat(20_000)}\ny = 1\n`;
  t.notThrows(() => lexHcl(text, (q) => q));
  t.deepEqual([...locateKeys(text).keys()], ['x', 'y']);
  t.deepEqual([...scanHcl(text).topLevel.keys()], ['x', 'y']);
});

/** The recursive skipString/skipTemplate as they were, for a differential check of the iterative ones. */
function referenceSkipString(text: string, i: number): number {
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') i += 2;
    else if (c === '"' || c === '\n') return i + 1;
    else if ((c === '$' || c === '%') && text[i + 1] === '{') i = referenceSkipTemplate(text, i + 2);
    else i++;
  }
  return i;
}

function referenceSkipTemplate(text: string, i: number): number {
  let depth = 1;
  while (i < text.length && depth > 0) {
    const c = text[i]!;
    if (c === '"') i = referenceSkipString(text, i + 1);
    else {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      i++;
    }
  }
  return i;
}

test.serial('the iterative string and template skipping ends where the recursive one did', async (t) => {
  const text = fc.string({ unit: fc.constantFrom('"', '$', '%', '{', '}', '\\', '\n', 'a', '${', '%{'), maxLength: 60 });
  await assertProperty(
    t,
    fc.tuple(text, fc.nat(60)),
    ([s, at]) => {
      const i = at % (s.length + 1);
      t.is(skipString(s, i), referenceSkipString(s, i), JSON.stringify([s, i]));
      t.is(skipTemplate(s, i), referenceSkipTemplate(s, i), JSON.stringify([s, i]));
    },
    { numRuns: 3000 },
  );
});
