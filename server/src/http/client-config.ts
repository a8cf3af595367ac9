import Router from '@koa/router';

/**
 * The Terraform CLI configuration that points clients at this mirror, in both
 * forms it supports: a network_mirror block (every provider installed from the
 * mirror; Terraform records the h1: it computes) and `host` blocks (the
 * registry protocols passed through: Terraform checks the upstream's signature
 * itself and records zh: for every platform, and installs the host's modules,
 * nested module calls included, from the mirror). The banner of `serve`,
 * `GET /client-config` and `tfmirror client-config` all render it here, so
 * the three never disagree.
 */

export interface ClientConfigInput {
  /** Absolute base URL of the mirror, as clients reach it (a path prefix is kept). */
  baseUrl: string;
  /** Upstream hostnames the mirror passes the registry protocol through for. */
  upstreams: readonly string[];
}

export interface HostServices {
  hostname: string;
  services: { 'providers.v1': string; 'modules.v1': string };
}

export interface ClientConfig {
  /** The base URL with a trailing slash. */
  baseUrl: string;
  networkMirror: { url: string; hcl: string };
  hosts: HostServices[];
  /** Every `host` block, one after another. */
  hostsHcl: string;
}

/** Both CLI configuration forms for a mirror at baseUrl. Pure. */
export function renderClientConfig(input: ClientConfigInput): ClientConfig {
  const baseUrl = withoutHclSyntax(input.baseUrl).replace(/\/*$/, '/');
  const networkMirrorHcl = ['provider_installation {', '  network_mirror {', `    url = ${hclString(baseUrl)}`, '  }', '}', ''].join('\n');
  const hosts = orderUpstreams(input.upstreams).map((hostname) => ({
    hostname,
    services: { 'providers.v1': `${baseUrl}hosts/${hostname}/v1/providers/`, 'modules.v1': `${baseUrl}hosts/${hostname}/v1/modules/` },
  }));
  const hostsHcl = hosts
    .map((h) =>
      [
        `host ${hclString(h.hostname)} {`,
        '  services = {',
        `    "providers.v1" = ${hclString(h.services['providers.v1'])}`,
        `    "modules.v1"   = ${hclString(h.services['modules.v1'])}`,
        '  }',
        '}',
        '',
      ].join('\n'),
    )
    .join('\n');
  return { baseUrl, networkMirror: { url: baseUrl, hcl: networkMirrorHcl }, hosts, hostsHcl };
}

/** Both forms as one commented text, ready to paste into ~/.terraformrc; `indent` prefixes every non-empty line. */
export function clientConfigText(c: ClientConfig, indent = ''): string {
  const lines = [
    `# Terraform CLI configuration for the mirror at ${c.baseUrl}`,
    '# Put ONE of the two forms in ~/.terraformrc (or the file TF_CLI_CONFIG_FILE names).',
    '',
    '# Form 1, network mirror: every provider is installed from the mirror;',
    '# the lock file gets the h1: hash of each platform installed.',
    c.networkMirror.hcl,
    '# Form 2, registry protocols through the mirror: Terraform checks the',
    "# upstream's signature itself and the lock file gets zh: for every platform;",
    '# modules of these hosts (nested module calls too) are installed from the mirror.',
    c.hostsHcl,
  ];
  return lines
    .join('\n')
    .split('\n')
    .map((l) => (l === '' ? l : indent + l))
    .join('\n');
}

export interface ClientConfigSource {
  /** server.public_url, or "" to take the base from the request (after the trusted-proxy rules). */
  publicUrl: string;
  upstreams: readonly string[];
}

/** `GET /client-config`: text (HCL with comments) by default, JSON when the client asks for it. */
export function clientConfigRoutes(source: ClientConfigSource): Router {
  const router = new Router();
  router.get('/client-config', (ctx) => {
    // ctx.protocol and ctx.host follow X-Forwarded-* only from server.trusted_proxies.
    const baseUrl = source.publicUrl || `${ctx.protocol}://${ctx.host}/`;
    const config = renderClientConfig({ baseUrl, upstreams: source.upstreams });
    ctx.set('Vary', 'Accept');
    if (ctx.accepts('text/plain', 'application/json') === 'application/json') {
      ctx.body = config;
      return;
    }
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = clientConfigText(config);
  });
  return router;
}

/** registry.terraform.io first (the default hostname of a provider source), then the others in name order. */
function orderUpstreams(hosts: readonly string[]): string[] {
  const unique = [...new Set(hosts.map((h) => h.toLowerCase()))].sort();
  const first = 'registry.terraform.io';
  return unique.includes(first) ? [first, ...unique.filter((h) => h !== first)] : unique;
}

/**
 * The base comes from a Host header when public_url is unset: percent-encode
 * what could end an HCL string or open a template, so a forged header yields
 * a wrong URL at worst, never extra configuration.
 */
function withoutHclSyntax(url: string): string {
  return url.replace(/["\\{}\u0000-\u0020\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** An HCL quoted string (the URLs are already free of quotes and braces; hostnames are validated upstream names). */
function hclString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
