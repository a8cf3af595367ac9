/**
 * How strong a configured bearer secret must be. A secret we did not generate
 * cannot be measured, so the rule is about its shape: enough characters of its
 * alphabet to carry 256 bits, and no obvious repetition.
 *
 * - only hex digits: at least 64 (4 bits each), e.g. `openssl rand -hex 32`;
 * - anything else: at least 43 (6 bits each, base64/base64url), e.g. `openssl rand -base64 32`.
 * Both must use at least 8 (hex) or 16 (other) distinct characters, which random
 * output of that length does with overwhelming probability.
 */
export const MIN_SECRET_BITS = 256;

export function secretStrengthProblem(secret: string): string | undefined {
  const hex = /^[0-9a-fA-F]+$/.test(secret);
  const bitsPerChar = hex ? 4 : 6;
  const minLength = Math.ceil(MIN_SECRET_BITS / bitsPerChar);
  const minDistinct = hex ? 8 : 16;
  const how = 'generate one with `openssl rand -hex 32` or `openssl rand -base64 32`';
  if (secret.length < minLength) {
    return `must carry at least ${MIN_SECRET_BITS / 8} random bytes: ${minLength} or more ${hex ? 'hex' : 'base64'} characters (it has ${secret.length}); ${how}`;
  }
  if (new Set(secret).size < minDistinct) return `looks repetitive, not random (${new Set(secret).size} distinct characters); ${how}`;
  return undefined;
}
