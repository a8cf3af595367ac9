/**
 * Provider source addresses (`[hostname/]namespace/type`), following
 * Terraform's naming rules (terraform-registry-address `ParseProviderSource`,
 * svchost for the hostname), restricted to ASCII: a mirror stores these as
 * object-key and URL path segments, so every accepted value must be safe there.
 */

import { InvalidInput } from '../errors.js';

export interface ProviderAddress {
  hostname: string;
  namespace: string;
  type: string;
}

export const DEFAULT_REGISTRY_HOSTNAME = 'registry.terraform.io';

const MAX_PART_LENGTH = 64;
const MAX_HOSTNAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

const PART_RULE =
  'ASCII letters, digits and dashes, no leading, trailing or consecutive dashes, at most 64 characters';
const HOSTNAME_RULE =
  'dot-separated DNS labels (ASCII letters, digits and dashes, no leading or trailing dash, ' +
  'at most 63 characters each; internationalized names in punycode "xn--" form), optionally followed by :port';

// Letters/digits, optionally dashes inside. "--" is refused separately, as
// Terraform does: it looks like a typo and would let "xn--" smuggle punycode.
const PART_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const LABEL_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const PORT_PATTERN = /^[0-9]{1,5}$/;

function isValidPart(s: string): boolean {
  return s.length <= MAX_PART_LENGTH && PART_PATTERN.test(s) && !s.includes('--');
}

/** A namespace segment, in any letter case (normalizeAddress lowercases it). */
export function isValidNamespace(s: string): boolean {
  return isValidPart(s);
}

/** A provider type segment, in any letter case (normalizeAddress lowercases it). */
export function isValidType(s: string): boolean {
  return isValidPart(s);
}

/**
 * A hostname with optional port, in any letter case. Anything with '/', '\',
 * '%', NUL, whitespace, or that is '', '.' or '..' fails the label pattern, so
 * this is safe as a path-segment check for HTTP routes.
 */
export function isValidHostname(s: string): boolean {
  const colon = s.indexOf(':');
  const host = colon === -1 ? s : s.slice(0, colon);
  if (colon !== -1 && !isValidPort(s.slice(colon + 1))) return false;
  if (host.length === 0 || host.length > MAX_HOSTNAME_LENGTH) return false;
  return host.split('.').every((label) => label.length <= MAX_LABEL_LENGTH && LABEL_PATTERN.test(label));
}

function isValidPort(p: string): boolean {
  if (!PORT_PATTERN.test(p)) return false;
  const n = Number(p);
  return n >= 1 && n <= 65535;
}

/**
 * Canonical form used for comparison, storage keys and URLs: lowercase, port
 * without leading zeros, and the default HTTPS port dropped (as svchost's
 * ForComparison does, so `example.com:443/a/b` and `example.com/a/b` are one
 * provider). Throws InvalidInput when a part is not valid.
 */
export function normalizeAddress(addr: ProviderAddress): ProviderAddress {
  if (!isValidHostname(addr.hostname)) {
    throw new InvalidInput(`invalid provider hostname ${JSON.stringify(addr.hostname)}: expected ${HOSTNAME_RULE}`, {
      key: 'hostname',
    });
  }
  if (!isValidNamespace(addr.namespace)) {
    throw new InvalidInput(`invalid provider namespace ${JSON.stringify(addr.namespace)}: expected ${PART_RULE}`, {
      key: 'namespace',
    });
  }
  if (!isValidType(addr.type)) {
    throw new InvalidInput(`invalid provider type ${JSON.stringify(addr.type)}: expected ${PART_RULE}`, {
      key: 'type',
    });
  }
  return {
    hostname: normalizeHostname(addr.hostname),
    namespace: addr.namespace.toLowerCase(),
    type: addr.type.toLowerCase(),
  };
}

function normalizeHostname(hostname: string): string {
  const [host = '', port] = hostname.toLowerCase().split(':');
  if (port === undefined) return host;
  const n = Number(port);
  return n === 443 ? host : `${host}:${n}`;
}

/**
 * Parses `[hostname/]namespace/type` into its normalized (lowercase) form.
 * The hostname defaults to registry.terraform.io, as in Terraform.
 */
export function parseSourceAddress(source: string): ProviderAddress {
  const parts = source.split('/');
  if (parts.length < 2 || parts.length > 3) {
    throw new InvalidInput(
      `invalid provider source address ${JSON.stringify(source)}: expected [hostname/]namespace/type, ` +
        `e.g. "hashicorp/aws" or "registry.terraform.io/hashicorp/aws"`,
      { key: 'source' },
    );
  }
  const [hostname, namespace = '', type = ''] =
    parts.length === 3 ? parts : [DEFAULT_REGISTRY_HOSTNAME, parts[0], parts[1]];
  try {
    return normalizeAddress({ hostname: hostname ?? '', namespace, type });
  } catch (err) {
    if (err instanceof InvalidInput) {
      throw new InvalidInput(`in provider source address ${JSON.stringify(source)}: ${err.message}`, err.details);
    }
    throw err;
  }
}

/** `hostname/namespace/type`, the form Terraform prints and lock files use. */
export function formatAddress(addr: ProviderAddress): string {
  return `${addr.hostname}/${addr.namespace}/${addr.type}`;
}
