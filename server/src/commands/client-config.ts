import type { Config } from '../config/types.js';
import { clientConfigText, renderClientConfig, type ClientConfig } from '../http/client-config.js';

/**
 * `tfmirror client-config`: the CLI configuration for the mirror this config
 * describes, without starting it. The base is server.public_url, else the
 * listen address as `serve` would name it.
 */
export function clientConfigCommand(config: Config, out: NodeJS.WritableStream, opts: { json?: boolean } = {}): number {
  const rendered = renderClientConfig({ baseUrl: configuredBaseUrl(config), upstreams: Object.keys(config.upstreams) });
  out.write(opts.json ? `${JSON.stringify(rendered satisfies ClientConfig, null, 2)}\n` : clientConfigText(rendered));
  return 0;
}

/** public_url, else the listen address; wildcard and loopback binds are named localhost, which the self-signed certificate names. */
export function configuredBaseUrl(config: Config): string {
  if (config.server.publicUrl) return `${config.server.publicUrl}/`;
  const scheme = config.server.tls ? 'https' : 'http';
  const { host, port } = splitListen(config.server.listen);
  const loopbackish = ['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost', ''].includes(host);
  const name = loopbackish ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${name}:${port}/`;
}

function splitListen(listen: string): { host: string; port: string } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: listen.slice(i + 1) };
}
