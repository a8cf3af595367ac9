/**
 * Skipping over HCL's string-like constructs in source text. Used where
 * hcl2json's JSON has no positions and we map keys back to lines and columns
 * (configuration and provider definitions); never to decide validity.
 */

export function indexOrEnd(text: string, needle: string, from: number): number {
  const at = text.indexOf(needle, from);
  return at === -1 ? text.length : at;
}

/** Index just past the closing quote of a string whose body starts at `i`. */
export function skipString(text: string, i: number): number {
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') i += 2;
    else if (c === '"' || c === '\n') return i + 1;
    else if ((c === '$' || c === '%') && text[i + 1] === '{') i = skipTemplate(text, i + 2);
    else i++;
  }
  return i;
}

/** Index just past the `}` closing a `${ ... }` interpolation, which may hold nested strings. */
export function skipTemplate(text: string, i: number): number {
  let depth = 1;
  while (i < text.length && depth > 0) {
    const c = text[i]!;
    if (c === '"') i = skipString(text, i + 1);
    else {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      i++;
    }
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
