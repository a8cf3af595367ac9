import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import pino from 'pino';
import { startServing, gettingStarted, type Serving } from '../../server/src/commands/serve.js';
import { configuredBaseUrl } from '../../server/src/commands/client-config.js';
import { loadConfig } from '../../server/src/config/load.js';
import { parseHcl } from '../../server/src/hcl/parse.js';
import { clientConfigText, renderClientConfig } from '../../server/src/http/client-config.js';
import { runCli } from '../fixtures/tfmirror.js';

/** What Terraform would read from the text: the network mirror's url and each host's providers.v1 (and modules.v1). */
async function readBack(text: string): Promise<{ mirrorUrl: unknown; hosts: Record<string, unknown>; modules: Record<string, unknown> }> {
  const doc = (await parseHcl(text)) as {
    provider_installation?: { network_mirror?: { url?: string }[] }[];
    host?: Record<string, { services?: Record<string, string> }[]>;
  };
  const hosts: Record<string, unknown> = {};
  const modules: Record<string, unknown> = {};
  for (const [name, [body]] of Object.entries(doc.host ?? {})) {
    hosts[name] = body?.services?.['providers.v1'];
    modules[name] = body?.services?.['modules.v1'];
  }
  return { mirrorUrl: doc.provider_installation?.[0]?.network_mirror?.[0]?.url, hosts, modules };
}

test('both forms name the mirror: network_mirror at the base, a host block per upstream under /hosts/H/v1/providers/ and /hosts/H/v1/modules/', async (t) => {
  const c = renderClientConfig({ baseUrl: 'https://mirror.example.com', upstreams: ['registry.opentofu.org', 'registry.terraform.io'] });
  t.is(c.baseUrl, 'https://mirror.example.com/');
  const back = await readBack(clientConfigText(c));
  t.is(back.mirrorUrl, 'https://mirror.example.com/');
  t.deepEqual(back.hosts, {
    'registry.terraform.io': 'https://mirror.example.com/hosts/registry.terraform.io/v1/providers/',
    'registry.opentofu.org': 'https://mirror.example.com/hosts/registry.opentofu.org/v1/providers/',
  });
  t.deepEqual(
    c.hosts.map((h) => h.hostname),
    ['registry.terraform.io', 'registry.opentofu.org'],
    'the default hostname of a provider source comes first',
  );
  t.deepEqual(back.modules, {
    'registry.terraform.io': 'https://mirror.example.com/hosts/registry.terraform.io/v1/modules/',
    'registry.opentofu.org': 'https://mirror.example.com/hosts/registry.opentofu.org/v1/modules/',
  });
});

test('a base URL with a path prefix keeps it in every URL', async (t) => {
  const back = await readBack(clientConfigText(renderClientConfig({ baseUrl: 'https://example.com/tf/', upstreams: ['registry.terraform.io'] })));
  t.is(back.mirrorUrl, 'https://example.com/tf/');
  t.deepEqual(back.hosts, { 'registry.terraform.io': 'https://example.com/tf/hosts/registry.terraform.io/v1/providers/' });
  t.deepEqual(back.modules, { 'registry.terraform.io': 'https://example.com/tf/hosts/registry.terraform.io/v1/modules/' });
});

test('a forged Host with quotes and template markers cannot end the HCL string or add configuration', async (t) => {
  const hostile = 'https://evil"\n} }\nprovider_installation { direct {} }/${x}%{if 1}\\';
  const text = clientConfigText(renderClientConfig({ baseUrl: hostile, upstreams: ['registry.terraform.io'] }));
  const doc = (await parseHcl(text)) as { provider_installation: { network_mirror: { url: string }[]; direct?: unknown }[] };
  t.is(doc.provider_installation.length, 1);
  t.is(doc.provider_installation[0]!.direct, undefined);
  t.is(doc.provider_installation[0]!.network_mirror[0]!.url, 'https://evil%22%0A%7D%20%7D%0Aprovider_installation%20%7B%20direct%20%7B%7D%20%7D/$%7Bx%7D%%7Bif%201%7D%5C/');
});

test('the serve banner prints both forms with the serving URL', async (t) => {
  const config = await loadConfig({ env: { TFM_DATA_DIR: '/nonexistent' }, cwd: os.tmpdir() });
  const banner = gettingStarted({ url: 'https://localhost:8443/' } as Serving, config);
  t.regex(banner, /network_mirror \{\s+url = "https:\/\/localhost:8443\/"/);
  t.regex(banner, /host "registry\.terraform\.io" \{\s+services = \{\s+"providers\.v1" = "https:\/\/localhost:8443\/hosts\/registry\.terraform\.io\/v1\/providers\/"/);  t.regex(banner, /Pull-through is on for registry\.terraform\.io\/\*\/\*, registry\.opentofu\.org\/\*\/\*/, 'the default says it fills itself');
  const off = await loadConfig({ env: { TFM_DATA_DIR: '/nonexistent', TFM_PULL_THROUGH_ENABLED: 'false' }, cwd: os.tmpdir() });
  t.notRegex(gettingStarted({ url: 'https://localhost:8443/' } as Serving, off), /Pull-through/);
  t.regex(banner, /Admin web UI: https:\/\/localhost:8443\/ui\//, 'the banner names the web UI');
  t.regex(gettingStarted({ url: 'https://localhost:8443/', adminUrl: 'https://127.0.0.1:9090/' } as Serving, config), /Admin web UI: https:\/\/127\.0\.0\.1:9090\/ui\//, 'on the admin listener when there is one');
});

async function serveOver(t: { teardown(fn: () => void): void }, env: Record<string, string> = {}): Promise<Serving> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-client-config-'));
  const config = await loadConfig({ env: { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_SERVER_TLS: 'false', ...env }, cwd: dir });
  const serving = await startServing(config, pino({ level: 'silent' }));
  t.teardown(async () => {
    await serving.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return serving;
}

test('GET /client-config answers the commented HCL for the address the client used', async (t) => {
  const serving = await serveOver(t);
  const res = await fetch(`${serving.url}client-config`);
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^text\/plain/);
  const back = await readBack(await res.text());
  t.is(back.mirrorUrl, serving.url);
  t.is(back.hosts['registry.terraform.io'], `${serving.url}hosts/registry.terraform.io/v1/providers/`);
  t.is(back.modules['registry.terraform.io'], `${serving.url}hosts/registry.terraform.io/v1/modules/`);
});

test('GET /client-config with Accept: application/json answers both forms as JSON, with public_url as the base', async (t) => {
  const serving = await serveOver(t, { TFM_SERVER_PUBLIC_URL: 'https://mirror.example.com' });
  // serving.url is the public URL; the request goes to the listener itself.
  const direct = await fetch(`http://127.0.0.1:${serving.port}/client-config`, { headers: { accept: 'application/json' } });
  t.is(direct.status, 200);
  const body = (await direct.json()) as ReturnType<typeof renderClientConfig>;
  t.is(body.networkMirror.url, 'https://mirror.example.com/');
  t.deepEqual(body.hosts.find((h) => h.hostname === 'registry.terraform.io')?.services, {
    'providers.v1': 'https://mirror.example.com/hosts/registry.terraform.io/v1/providers/',
    'modules.v1': 'https://mirror.example.com/hosts/registry.terraform.io/v1/modules/',
  });
  t.regex(body.networkMirror.hcl, /network_mirror/);
  t.regex(body.hostsHcl, /host "registry\.terraform\.io"/);
});

test('tfmirror client-config prints the forms for public_url, else for the listen address', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-client-config-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const withPublic = await runCli(['client-config'], { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_PUBLIC_URL: 'https://mirror.example.com/' });
  t.is(withPublic.code, 0, withPublic.stderr);
  const printed = await readBack(withPublic.stdout);
  t.is(printed.mirrorUrl, 'https://mirror.example.com/');
  t.is(printed.modules['registry.terraform.io'], 'https://mirror.example.com/hosts/registry.terraform.io/v1/modules/');
  const json = await runCli(['client-config', '--json'], { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '0.0.0.0:9443' });
  t.is(json.code, 0, json.stderr);
  t.is((JSON.parse(json.stdout) as { baseUrl: string }).baseUrl, 'https://localhost:9443/');
  t.false(fs.existsSync(path.join(dir, 'data')), 'printing the configuration creates no data');
});

test('the configured base URL follows tls and brackets an IPv6 listen address', async (t) => {
  const config = await loadConfig({ env: { TFM_SERVER_LISTEN: '[2001:db8::1]:8080', TFM_SERVER_TLS: 'false' }, cwd: os.tmpdir() });
  t.is(configuredBaseUrl(config), 'http://[2001:db8::1]:8080/');
});
