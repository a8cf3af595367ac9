/**
 * SHA256SUMS files as published with provider releases (`sha256sum` output:
 * `<64 hex>  <filename>`, or `<64 hex> *<filename>` in binary mode).
 * Parsing is strict and reports the 1-based line number, because a malformed
 * sums file is either corruption or tampering and the operator needs to see
 * where. The original bytes are what is signed; callers keep them unchanged
 * and use this only to read the digests.
 */

import { InvalidInput } from '../errors.js';

const LINE_PATTERN = /^([0-9a-fA-F]{64})(?: {2}| \*)(.+)$/;
// Release file names: printable ASCII without spaces or path separators.
// Terraform splits lines on whitespace, so a name with spaces could never match.
const FILENAME_PATTERN = /^[!-~]+$/;

export function isValidSumsFilename(name: string): boolean {
  return FILENAME_PATTERN.test(name) && !name.includes('/') && !name.includes('\\') && name !== '.' && name !== '..';
}

/**
 * Parses SHA256SUMS text into filename → lowercase hex digest, in file order.
 * A final newline is optional; CRLF line endings are tolerated. Empty lines
 * other than the trailing one, and a filename listed twice with different
 * digests, are errors.
 */
export function parseSha256Sums(text: string, options: { file?: string } = {}): Map<string, string> {
  const sums = new Map<string, string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const lineNo = index + 1;
    const fail: (why: string) => never = (why) => {
      throw new InvalidInput(`${options.file ?? 'SHA256SUMS'} line ${lineNo}: ${why}`, {
        ...(options.file === undefined ? {} : { file: options.file }),
        line: lineNo,
      });
    };
    const m = LINE_PATTERN.exec(line);
    if (m === null) {
      fail(
        `malformed line ${JSON.stringify(line.slice(0, 120))}: expected 64 hex digits, two spaces ` +
          `(or a space and "*") and a file name`,
      );
    }
    const [, hex = '', name = ''] = m;
    if (!isValidSumsFilename(name)) {
      fail(`invalid file name ${JSON.stringify(name)}: expected printable ASCII without spaces, "/" or "\\"`);
    }
    const digest = hex.toLowerCase();
    const previous = sums.get(name);
    if (previous !== undefined && previous !== digest) {
      fail(`${JSON.stringify(name)} is listed again with a different digest`);
    }
    sums.set(name, digest);
  });
  return sums;
}

/** Formats sums as `sha256sum` does (two spaces, LF), sorted by file name in byte order. */
export function formatSha256Sums(sums: ReadonlyMap<string, string> | Iterable<readonly [string, string]>): string {
  const entries = [...sums].map(([name, hex]) => {
    if (!isValidSumsFilename(name)) {
      throw new InvalidInput(`invalid file name ${JSON.stringify(name)} for SHA256SUMS`);
    }
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      throw new InvalidInput(`invalid sha256 ${JSON.stringify(hex)} for ${JSON.stringify(name)}`);
    }
    return [name, hex.toLowerCase()] as const;
  });
  // Names are ASCII (checked above), so code-unit order is byte order.
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.map(([name, hex]) => `${hex}  ${name}\n`).join('');
}
