/**
 * Terraform package hashes. Pure: works on names and digests handed in, so the
 * same code serves zips being ingested and metadata read back from storage.
 *
 * - `h1:` is Go's golang.org/x/mod/sumdb/dirhash Hash1 over the files of a
 *   package: lines `hex(sha256(content)) + "  " + name + "\n"`, sorted by
 *   name with Go's sort.Strings (byte order of the UTF-8 encoding), then
 *   `"h1:" + base64std(sha256(lines))`. Terraform computes it with
 *   dirhash.HashZip for a zip and records it in .terraform.lock.hcl.
 * - `zh:` is the lowercase hex sha256 of the zip file itself (the value of its
 *   SHA256SUMS line).
 */

import { createHash } from 'node:crypto';
import { InvalidInput } from '../errors.js';

export interface HashedEntry {
  /** The entry name exactly as stored in the archive (no prefix, '/' separators). */
  name: string;
  sha256Hex: string;
}

export type HashScheme = 'h1' | 'zh';

export interface ParsedHash {
  scheme: HashScheme;
  /** base64 (h1) or lowercase hex (zh) digest. */
  value: string;
  /** The canonical `scheme:value` string, as Terraform writes it. */
  text: string;
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
// 32 bytes in standard, padded base64 is exactly 43 characters plus one "=".
const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

export function isSha256Hex(s: string): boolean {
  return SHA256_HEX.test(s);
}

/** Go dirhash Hash1. Duplicate names are hashed as given, as Go does. */
export function h1FromEntries(entries: readonly HashedEntry[]): string {
  const lines = entries.map((e) => {
    if (e.name.includes('\n')) {
      // Go refuses these ("filenames with newlines are not supported"): the
      // summary format would become ambiguous.
      throw new InvalidInput(`cannot hash entry name ${JSON.stringify(e.name)}: names with newlines are not supported`);
    }
    if (!isSha256Hex(e.sha256Hex)) {
      throw new InvalidInput(`invalid sha256 for ${JSON.stringify(e.name)}: expected 64 hex digits`);
    }
    return { name: Buffer.from(e.name, 'utf8'), line: `${e.sha256Hex.toLowerCase()}  ${e.name}\n` };
  });
  // JS string order compares UTF-16 code units, which differs from UTF-8 byte
  // order for characters above U+FFFF versus U+E000..U+FFFF; Go compares bytes.
  lines.sort((a, b) => Buffer.compare(a.name, b.name));
  const summary = createHash('sha256');
  for (const l of lines) summary.update(l.line, 'utf8');
  return `h1:${summary.digest('base64')}`;
}

export function zhFromSha256Hex(hex: string): string {
  if (!isSha256Hex(hex)) {
    throw new InvalidInput(`invalid sha256 ${JSON.stringify(hex)}: expected 64 hex digits`);
  }
  return `zh:${hex.toLowerCase()}`;
}

/**
 * Parses `h1:<base64>` or `zh:<hex>`. zh digests are lowercased (Terraform
 * compares hash strings literally and always writes lowercase hex).
 */
export function parseHash(s: string): ParsedHash {
  const colon = s.indexOf(':');
  const scheme = colon === -1 ? '' : s.slice(0, colon);
  const value = s.slice(colon + 1);
  if (scheme === 'h1') {
    // The round trip rejects non-canonical encodings (stray low bits in the
    // last character), which would otherwise compare unequal as strings.
    if (!SHA256_BASE64.test(value) || Buffer.from(value, 'base64').toString('base64') !== value) {
      throw new InvalidInput(`invalid h1 hash ${JSON.stringify(s)}: expected "h1:" and 44 characters of base64`);
    }
    return { scheme, value, text: s };
  }
  if (scheme === 'zh') {
    if (!isSha256Hex(value)) {
      throw new InvalidInput(`invalid zh hash ${JSON.stringify(s)}: expected "zh:" and 64 hex digits`);
    }
    const lower = value.toLowerCase();
    return { scheme, value: lower, text: `zh:${lower}` };
  }
  throw new InvalidInput(`unsupported hash ${JSON.stringify(s)}: expected an "h1:" or "zh:" hash`);
}
