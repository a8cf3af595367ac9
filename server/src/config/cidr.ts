import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * "10.0.0.0/8", "fd00::/8", or a bare address (one host). Pure parsing, so the
 * config can reject a typo by key before anything listens.
 */
export function parseCidr(text: string): Cidr | { error: string } {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family || rest.length > 0) return { error: `${JSON.stringify(text)} is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)` };
  const max = family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return { error: `${JSON.stringify(text)} has a prefix length outside 0..${max}` };
  }
  return { address, prefix: Number(prefixText), family };
}
