/**
 * Turning an audit entry's free-form details into what may be stored: no
 * secrets, valid JSON, bounded size. Routes are expected never to pass
 * secrets; this is the second line of defence, not the first.
 */

export const MAX_DETAILS_BYTES = 4096;

/**
 * Key names whose values are dropped, after removing "_" and "-":
 * password, newPassword, jwt_secret, accessToken, authorization, apiKey.
 * "tokenId" or "tokenName" survive: they identify, they do not authenticate.
 */
const SECRET_KEY = /(password|passwd|secret|token|authorization|apikey|privatekey)$/i;
/** Deep enough for any real details object; deeper structure is cut, not walked. */
const MAX_DEPTH = 8;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.replace(/[_-]/g, ''));
}

/** Copies value without secret-named keys; cycles and excessive depth become markers. */
export function stripSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => stripSecrets(v, depth + 1, seen));
    if (value instanceof Date) return value.toISOString();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (!isSecretKey(k)) out[k] = stripSecrets(v, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value); // a shared (not circular) sub-object may appear twice
  }
}

/**
 * JSON text of the details, at most MAX_DETAILS_BYTES bytes. Oversized
 * details are kept as a truncated preview inside a small valid JSON object,
 * so readers can always parse the column.
 */
export function encodeDetails(details: Record<string, unknown> | undefined): string | null {
  if (details === undefined || Object.keys(details).length === 0) return null;
  let json: string;
  try {
    json = JSON.stringify(stripSecrets(details), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return JSON.stringify({ unencodable: true });
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes <= MAX_DETAILS_BYTES) return json;
  // Escaping can grow the preview (quotes, non-ASCII), so shrink until the wrapper fits.
  for (let keep = MAX_DETAILS_BYTES - 100; keep > 0; keep = Math.floor(keep * 0.75)) {
    const wrapped = JSON.stringify({ truncated: true, bytes, preview: json.slice(0, keep) });
    if (Buffer.byteLength(wrapped, 'utf8') <= MAX_DETAILS_BYTES) return wrapped;
  }
  return JSON.stringify({ truncated: true, bytes });
}

/** Cuts a client-controlled string (user agent, resource) to a sane column size. */
export function bounded(value: string | undefined | null, max: number): string | null {
  if (value === undefined || value === null || value === '') return null;
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}
