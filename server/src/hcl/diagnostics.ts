/**
 * hcl2json's error messages, turned into positioned diagnostics. This is the
 * one place that knows their shape:
 *
 *   parse config: [<name>:L,C-L,C: Summary; Detail. <name>:L,C-C: Summary; Detail.]
 *
 * A diagnostic starts at its "<name>:L,C-…: " prefix. We choose <name>
 * ourselves (HCL_INPUT_NAME), so the prefix is found exactly whatever the
 * caller's file is called. Structural errors ("Unable to convert Block to
 * JSON: provider.a") carry no position and yield no diagnostics.
 */
import { InvalidInput } from '../errors.js';

/** The file name hcl2json is given: its diagnostics are found by this known prefix. */
export const HCL_INPUT_NAME = 'input.hcl';

export interface HclDiagnostic {
  /** "Summary: Detail", with mentions of other places written "line N". */
  message: string;
  line: number;
  column: number;
}

const RANGE = `${HCL_INPUT_NAME.replace(/\./g, '\\.')}:(\\d+),(\\d+)-(?:\\d+,)?\\d+`;
const DIAGNOSTIC_START = new RegExp(`${RANGE}: `, 'g');
// "The argument "a" was already set at input.hcl:2,2-3." names a place in the caller's document.
const MENTION = new RegExp(RANGE, 'g');

/** Every distinct diagnostic in an hcl2json message, in its order. */
export function hclDiagnostics(raw: string): HclDiagnostic[] {
  const starts = [...raw.matchAll(DIAGNOSTIC_START)];
  const seen = new Set<string>();
  const out: HclDiagnostic[] = [];
  starts.forEach((m, n) => {
    const end = starts[n + 1]?.index ?? raw.lastIndexOf(']');
    const body = raw.slice(m.index + m[0].length, end > m.index ? end : undefined);
    const message = body.trim().replace('; ', ': ').replace(MENTION, 'line $1');
    // One unterminated string repeats the same diagnostic on every later line; the first says it all.
    if (seen.has(message)) return;
    seen.add(message);
    out.push({ message, line: Number(m[1]), column: Number(m[2]) });
  });
  return out;
}

/**
 * hcl2json refused the text. `diagnostics` is empty when its message had no
 * positions; `raw` is that message. An InvalidInput (positioned at the first
 * diagnostic), so one that escapes is still a client error, not a crash.
 */
export class HclSyntaxError extends InvalidInput {
  constructor(
    readonly diagnostics: readonly HclDiagnostic[],
    readonly raw: string,
  ) {
    const first = diagnostics[0];
    super(
      first ? diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join('\n') : `cannot parse HCL: ${raw}`,
      first ? { line: first.line, column: first.column } : {},
    );
  }
}
