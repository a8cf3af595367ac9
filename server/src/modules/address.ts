/**
 * Module registry addresses (`[hostname/]namespace/name/system`), following
 * Terraform's module registry rules (terraform-registry-address
 * `ParseModuleSource`): the parts become URL path segments and object keys,
 * so every accepted value is plain ASCII with no separators.
 */

import { InvalidInput } from '../errors.js';
import { DEFAULT_REGISTRY_HOSTNAME, isValidHostname } from '../providers/address.js';
import type { ModuleAddress } from './ports.js';

const NAME_PATTERN = /^[0-9A-Za-z](?:[0-9A-Za-z_-]{0,62}[0-9A-Za-z])?$/;
const SYSTEM_PATTERN = /^[0-9a-z]{1,64}$/;

const NAME_RULE = 'ASCII letters, digits, "-" and "_", starting and ending with a letter or digit, at most 64 characters';
const SYSTEM_RULE = 'lowercase ASCII letters and digits, at most 64 characters';
const HOSTNAME_RULE = 'dot-separated DNS labels, optionally followed by :port';

/**
 * Parses `namespace/name/system` or `hostname/namespace/name/system`. The
 * hostname is lowercased and the default HTTPS port dropped, so one module has
 * one spelling in keys and URLs; the other parts keep their case, as the
 * registry answers them.
 */
export function parseModuleAddress(text: string, defaultHost: string = DEFAULT_REGISTRY_HOSTNAME): ModuleAddress {
  const parts = text.split('/');
  if (parts.length !== 3 && parts.length !== 4) {
    throw new InvalidInput(
      `invalid module source address ${JSON.stringify(text)}: expected [hostname/]namespace/name/system, ` +
        `e.g. "terraform-aws-modules/vpc/aws" or "registry.terraform.io/terraform-aws-modules/vpc/aws"`,
      { key: 'source' },
    );
  }
  const [hostname = '', namespace = '', name = '', system = ''] = parts.length === 4 ? parts : [defaultHost, ...parts];
  try {
    return moduleAddressFromParts(hostname, namespace, name, system);
  } catch (err) {
    if (err instanceof InvalidInput) {
      throw new InvalidInput(`in module source address ${JSON.stringify(text)}: ${err.message}`, err.details);
    }
    throw err;
  }
}

/**
 * Builds an address from separate parts (route parameters), with the same
 * checks as parseModuleAddress; the message names the part that is wrong.
 */
export function moduleAddressFromParts(hostname: string, namespace: string, name: string, system: string): ModuleAddress {
  if (!isValidHostname(hostname)) {
    throw new InvalidInput(`invalid module hostname ${JSON.stringify(hostname)}: expected ${HOSTNAME_RULE}`, {
      key: 'hostname',
    });
  }
  if (!NAME_PATTERN.test(namespace)) {
    throw new InvalidInput(`invalid module namespace ${JSON.stringify(namespace)}: expected ${NAME_RULE}`, {
      key: 'namespace',
    });
  }
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidInput(`invalid module name ${JSON.stringify(name)}: expected ${NAME_RULE}`, { key: 'name' });
  }
  if (!SYSTEM_PATTERN.test(system)) {
    throw new InvalidInput(`invalid module system ${JSON.stringify(system)}: expected ${SYSTEM_RULE}`, {
      key: 'system',
    });
  }
  return { hostname: normalizeHostname(hostname), namespace, name, system };
}

/** `hostname/namespace/name/system`, the form Terraform prints. */
export function formatModuleAddress(a: ModuleAddress): string {
  return `${a.hostname}/${a.namespace}/${a.name}/${a.system}`;
}

// As svchost's ForComparison: `example.com:443` and `example.com` are one host.
function normalizeHostname(hostname: string): string {
  const [host = '', port] = hostname.toLowerCase().split(':');
  if (port === undefined) return host;
  const n = Number(port);
  return n === 443 ? host : `${host}:${n}`;
}
