/**
 * A tolerant HCL tokenizer and the skipping of string-like constructs. Used where
 * hcl2json's JSON has no positions and we map keys back to lines and columns
 * (configuration and provider definitions); never to decide validity.
 */

export function indexOrEnd(text: string, needle: string, from: number): number {
  const at = text.indexOf(needle, from);
  return at === -1 ? text.length : at;
}

/** Index just past the closing quote of a string whose body starts at `i`. */
export function skipString(text: string, i: number): number {
  return skipNested(text, i, IN_STRING);
}

/** Index just past the `}` closing a `${ ... }` interpolation, which may hold nested strings. */
export function skipTemplate(text: string, i: number): number {
  return skipNested(text, i, 1);
}

const IN_STRING = -1;

/**
 * Strings and templates nest inside each other (`"${"${x}"}"` is valid HCL),
 * so they are skipped with an explicit stack rather than mutual recursion: a
 * file nesting them thousands deep must not overflow the call stack. Each
 * stack entry is IN_STRING or the brace depth of an open template.
 */
function skipNested(text: string, i: number, outer: number): number {
  const stack = [outer];
  while (i < text.length) {
    const top = stack.length - 1;
    const c = text[i]!;
    if (stack[top] === IN_STRING) {
      if (c === '\\') i += 2;
      else if (c === '"' || c === '\n') {
        i++;
        stack.pop();
      } else if ((c === '$' || c === '%') && text[i + 1] === '{') {
        i += 2;
        stack.push(1);
      } else i++;
    } else if (c === '"') {
      i++;
      stack.push(IN_STRING);
    } else {
      if (c === '{') stack[top]!++;
      else if (c === '}') stack[top]!--;
      i++;
      if (stack[top] === 0) stack.pop();
    }
    if (stack.length === 0) return i;
  }
  return i;
}

/** Index of the newline ending a heredoc (`<<EOT` / `<<-EOT` ... `EOT`), or the end of text. */
export function skipHeredoc(text: string, i: number): number {
  const m = /^<<-?([A-Za-z_]\w*)[^\n]*\n/.exec(text.slice(i, i + 512));
  if (!m) return i + 2;
  let at = i + m[0].length;
  while (at < text.length) {
    const end = indexOrEnd(text, '\n', at);
    if (text.slice(at, end).trim() === m[1]) return end;
    at = end + 1;
  }
  return text.length;
}

export type HclToken = { kind: 'ident' | 'string' | 'punct' | 'nl'; text: string; at: number };

/**
 * Splits HCL source into identifiers, strings, punctuation and newlines,
 * dropping comments and whitespace. `decodeString` turns a quoted string
 * (with its quotes) into the token text; heredocs become empty strings.
 */
export function lexHcl(text: string, decodeString: (quoted: string) => string): HclToken[] {
  const tokens: HclToken[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const two = text.slice(i, i + 2);
    if (c === '\n') tokens.push({ kind: 'nl', text: c, at: i++ });
    else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#' || two === '//') i = indexOrEnd(text, '\n', i);
    else if (two === '/*') i = indexOrEnd(text, '*/', i + 2) + 2;
    else if (c === '"') {
      const end = skipString(text, i + 1);
      tokens.push({ kind: 'string', text: decodeString(text.slice(i, end)), at: i });
      i = end;
    } else if (two === '<<') {
      const end = skipHeredoc(text, i);
      tokens.push({ kind: 'string', text: '', at: i });
      i = end;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][\w-]*/.exec(text.slice(i, i + 256))!;
      tokens.push({ kind: 'ident', text: m[0], at: i });
      i += m[0].length;
    } else tokens.push({ kind: 'punct', text: c, at: i++ });
  }
  return tokens;
}

/**
 * Index of the token ending an attribute's value: the newline at bracket
 * depth 0, or the brace closing a one-line block (`server { listen = "x" }`).
 */
export function skipHclExpression(tokens: readonly HclToken[], k: number): number {
  let depth = 0;
  for (; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind === 'nl' && depth === 0) return k;
    if (t.kind !== 'punct') continue;
    if ('([{'.includes(t.text)) depth++;
    else if (')]}'.includes(t.text)) {
      if (depth === 0) return k;
      depth--;
    }
  }
  return k;
}
