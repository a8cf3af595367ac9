/**
 * The HTTP client of one upstream, with its reach rules: where the URLs it
 * hands out may lead follows from the base the mirror itself was told to
 * contact (the discovery url, or the providers_url or network_mirror that
 * replaces discovery). HTTPS only unless that base is plain http itself, and
 * loopback, link-local or private addresses only if that base is on one.
 */

import type { LookupFunction } from 'node:net';
import { InvalidInput, NotFound } from '../errors.js';
import { isValidNamespace, isValidType } from '../providers/address.js';
import { HttpClient, type HttpClientOptions, type StreamedResponse } from './http.js';
import { describeUrl } from './errors.js';
import { type AddressClassifier, isOnPrivateNetwork } from './reach.js';

export interface UpstreamHttpOptions extends Omit<HttpClientOptions, 'reach'> {
  /** The resolver for every connection (default dns.lookup). */
  lookup?: LookupFunction;
  /** Which addresses count as loopback/link-local/private (default reach.forbiddenRange). */
  classifyAddress?: AddressClassifier;
}

export function upstreamHttpClient(options: UpstreamHttpOptions, base: string): HttpClient {
  const reachOpts = { lookup: options.lookup, classify: options.classifyAddress };
  let privateNetwork: boolean | undefined;
  return new HttpClient({
    ...options,
    reach: {
      ...reachOpts,
      requireHttps: new URL(base).protocol === 'https:',
      // Asked only when a connection would reach a forbidden address; a name that
      // did not resolve is asked again next time rather than remembered as public.
      allowPrivate: async () => (privateNetwork ??= await isOnPrivateNetwork(base, reachOpts)) ?? false,
    },
  });
}

export function assertProvider(namespace: string, type: string): void {
  if (!isValidNamespace(namespace)) throw new InvalidInput(`invalid provider namespace ${JSON.stringify(namespace)}`, { key: 'namespace' });
  if (!isValidType(type)) throw new InvalidInput(`invalid provider type ${JSON.stringify(type)}`, { key: 'type' });
}

/** Replaces the HTTP layer's generic NotFound with one that says what is missing. */
export async function notFoundAs<T>(p: Promise<T>, message: () => string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof NotFound) throw new NotFound(message(), { cause: err });
    throw err;
  }
}

/** A release file read whole (SHA256SUMS, .sig), as the exact bytes served: what both upstream adapters fetch alike. */
export async function fetchReleaseFile(http: HttpClient, url: string, limit: number, signal?: AbortSignal): Promise<Buffer> {
  return (await notFoundAs(http.getBuffer(url, { limit, signal }), () => `${describeUrl(url)} not found upstream`)).body;
}

/** An archive as a stream, bounded by `maxBytes` (default: the client's download limit). */
export function downloadArchive(http: HttpClient, url: string, maxBytes: number | undefined, signal?: AbortSignal): Promise<StreamedResponse> {
  return notFoundAs(http.getStream(url, { signal, maxBytes }), () => `${describeUrl(url)} not found upstream`);
}
