/**
 * What the browser tests, the screenshots and the dashboard bench share: the
 * system Chromium driven by playwright-core, and a real `tfmirror serve` over
 * HTTPS (its own throwaway CA) whose upstream is the fake registry, with an
 * admin and a viewer to sign in as.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { loadSetup, type LoadSetup } from '../fixtures/load-setup.js';
import type { FakeRegistryProvider } from '../fixtures/fake-registry.js';
import { tarGz } from '../fixtures/module-archives.js';
import { startStaticServer, type StaticServer } from '../fixtures/static-server.js';
import { runCli, startServe, type ServeProcess } from '../fixtures/tfmirror.js';

export const ADMIN = { username: 'alice', password: 'Tangerine-Rocket-42' };
export const VIEWER = { username: 'victor', password: 'Marmalade-Comet-77' };

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Where `npm run build:ui` writes the UI that `serve` hands out. */
export const uiDist = path.join(repoRoot, 'dist', 'ui');

/** The Chromium to drive (Debian's, or CHROMIUM_PATH); undefined when there is none. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserSkipReason(): string | undefined {
  if (!chromiumPath()) return 'no Chromium (install it with `apt-get install -y chromium`, or set CHROMIUM_PATH)';
  if (!fs.existsSync(path.join(uiDist, 'index.html'))) return `the UI is not built (${path.relative(repoRoot, uiDist)}/index.html is missing; run \`npm run build:ui\`)`;
  return undefined;
}

// Everything that would make Chromium talk to anything but the server under test is off.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * A fresh profile each time (launchPersistentContext is how playwright takes
 * a --user-data-dir). The server's certificate comes from its own local CA,
 * which this profile does not trust: certificate errors are ignored for it.
 */
export async function openBrowser(opts: { viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' } = {}): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('no Chromium');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    ignoreHTTPSErrors: true,
    viewport: opts.viewport ?? { width: 1280, height: 800 },
    colorScheme: opts.colorScheme ?? 'light',
    timeout: 20_000,
  });
  context.setDefaultTimeout(8_000);
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface ApiAnswer {
  status: number;
  json: any;
}

export interface UiServer {
  setup: LoadSetup;
  serve: ServeProcess;
  /** The server's base URL, with a trailing slash (https://127.0.0.1:PORT/). */
  url: string;
  /** An admin API call as the admin (a session of its own, not the browser's). */
  api(method: string, apiPath: string, body?: unknown, contentType?: string): Promise<ApiAnswer>;
  /** A plain GET of any path (network mirror reads), unauthenticated. */
  get(p: string): Promise<{ status: number; text: string }>;
  /** Any request with the caller's headers (another token than the admin's). */
  request(method: string, p: string, headers?: Record<string, string>): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

export const DEFAULT_PROVIDERS: FakeRegistryProvider[] = [
  { namespace: 'hashicorp', type: 'random', versions: { '3.5.0': ['linux_amd64'], '3.6.0': ['linux_amd64', 'darwin_arm64'] } },
  { namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } },
];

/**
 * A real `serve` over HTTPS in a child process, its upstream the fake
 * registry, with an admin and a viewer. Node here trusts the server's CA for
 * the test's own API calls through the bundle the server prints.
 */
export async function startUiServer(opts: { providers?: FakeRegistryProvider[]; env?: Record<string, string> } = {}): Promise<UiServer> {
  const setup = await loadSetup(opts.providers ?? DEFAULT_PROVIDERS);
  let archives: StaticServer | undefined;
  let serve: ServeProcess | undefined;
  try {
    archives = await serveModuleArchive(setup);
    // The mirror trusts the fake registry and the archive host, as an operator would with NODE_EXTRA_CA_CERTS.
    const upstreamCas = path.join(setup.dir, 'upstream-cas.pem');
    fs.writeFileSync(upstreamCas, `${setup.registry.caPem}\n${archives.caPem}\n`);
    const env = { ...setup.env, NODE_EXTRA_CA_CERTS: upstreamCas, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_BCRYPT_COST: '10', ...opts.env };
    const created = await runCli(['create-admin', '--username', ADMIN.username], env, { cwd: setup.dir, input: `${ADMIN.password}\n`, timeoutMs: 30_000 });
    if (created.code !== 0) throw new Error(`create-admin failed: ${created.stderr}`);
    serve = await startServe(env, { cwd: setup.dir });
    const bundle = /export SSL_CERT_FILE=(\S+)/.exec(serve.stderr())?.[1];
    if (!bundle) throw new Error(`serve printed no CA bundle:\n${serve.stderr()}`);
    const ca = fs.readFileSync(bundle, 'utf8');
    const url = serve.url;
    const request = await trustingFetch(ca);
    const login = await request('POST', new URL('admin/api/auth/login', url), JSON.stringify(ADMIN), { 'content-type': 'application/json' });
    if (login.status !== 200) throw new Error(`admin login failed: ${login.status} ${login.text}`);
    const token = (JSON.parse(login.text) as { token: string }).token;
    const api = async (method: string, apiPath: string, body?: unknown, contentType = 'application/json'): Promise<ApiAnswer> => {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      let payload: string | undefined;
      if (body !== undefined) {
        headers['content-type'] = contentType;
        payload = typeof body === 'string' ? body : JSON.stringify(body);
      }
      const r = await request(method, new URL(`admin/api${apiPath}`, url), payload, headers);
      return { status: r.status, json: r.text ? (JSON.parse(r.text) as unknown) : undefined };
    };
    const viewer = await api('POST', '/users', { ...VIEWER, role: 'viewer' });
    if (viewer.status !== 201) throw new Error(`creating the viewer failed: ${viewer.status} ${JSON.stringify(viewer.json)}`);
    const started = serve;
    return {
      setup,
      serve: started,
      url,
      api,
      get: (p) => request('GET', new URL(p.replace(/^\//, ''), url)),
      request: (method, p, headers) => request(method, new URL(p.replace(/^\//, ''), url), undefined, headers),
      async close() {
        await started.stop();
        await archives?.close();
        await setup.close();
      },
    };
  } catch (err) {
    await serve?.stop();
    await archives?.close();
    await setup.close();
    throw err;
  }
}

/** The module the upstream offers: acme/network/aws 1.0.0, an https tarball with one top-level directory. */
export const MODULE = { source: 'acme/network/aws', version: '1.0.0' };

async function serveModuleArchive(setup: LoadSetup): Promise<StaticServer> {
  const root = path.join(setup.dir, 'archives');
  fs.mkdirSync(root);
  const tree = { 'network-1.0.0/main.tf': 'output "vpc" { value = "vpc" }\n', 'network-1.0.0/variables.tf': 'variable "cidr" {\n  default = "10.0.0.0/16"\n}\n' };
  fs.writeFileSync(path.join(root, 'network-1.0.0.tar.gz'), tarGz(Object.entries(tree).map(([name, content]) => ({ name, content }))));
  const archives = await startStaticServer(root);
  setup.registry.addModule({ namespace: 'acme', name: 'network', system: 'aws', versions: { [MODULE.version]: `${archives.url}network-1.0.0.tar.gz//*` } });
  return archives;
}

type Request = (method: string, url: URL, body?: string, headers?: Record<string, string>) => Promise<{ status: number; text: string }>;

/** HTTPS requests that trust the server's CA (and only for these requests), each bounded in time. */
async function trustingFetch(ca: string): Promise<Request> {
  const https = await import('node:https');
  const agent = new https.Agent({ ca, keepAlive: false });
  return (method, url, body, headers = {}) =>
    new Promise((resolve, reject) => {
      const req = https.request(url, { method, agent, headers, timeout: 10_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
}

/** Polls until the job is finished (or the deadline passes) and returns its last state. */
export async function waitForJob(server: UiServer, jobId: number, timeoutMs = 15_000): Promise<{ status: string; items: unknown[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await server.api('GET', `/jobs/${jobId}`)).json as { status: string; items: unknown[] };
    if (job.status === 'succeeded' || job.status === 'failed' || Date.now() > deadline) return job;
    await new Promise((r) => setTimeout(r, 150));
  }
}
