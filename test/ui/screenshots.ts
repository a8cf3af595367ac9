/**
 * `npm run screenshots`: starts a server with sample data (the fake upstream
 * on loopback, so nothing leaves the machine) and writes a PNG of each main
 * view of the admin UI at 1280×800 into docs/ui/, plus the dashboard on a
 * narrow window and in the dark palette. Needs the built UI and Chromium.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { FakeRegistryProvider } from '../fixtures/fake-registry.js';
import { ADMIN, MODULE, browserSkipReason, openBrowser, startUiServer, waitForJob, type UiServer } from './harness.js';
import { open, signIn, waitForDashboardData } from './pages.js';

const outDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/ui');

const PLATFORMS = ['linux_amd64', 'linux_arm64', 'darwin_arm64', 'windows_amd64'];
const SAMPLE: FakeRegistryProvider[] = [
  { namespace: 'hashicorp', type: 'aws', versions: { '5.80.0': PLATFORMS, '5.81.0': PLATFORMS, '5.82.0': PLATFORMS } },
  { namespace: 'hashicorp', type: 'google', versions: { '6.10.0': PLATFORMS, '6.11.0': PLATFORMS } },
  { namespace: 'hashicorp', type: 'kubernetes', versions: { '2.33.0': PLATFORMS } },
  { namespace: 'hashicorp', type: 'random', versions: { '3.6.0': PLATFORMS, '3.6.3': PLATFORMS } },
  { namespace: 'hashicorp', type: 'null', versions: { '3.2.3': ['linux_amd64', 'darwin_arm64'] } },
  { namespace: 'integrations', type: 'github', versions: { '6.4.0': ['linux_amd64'] } },
];

async function seed(server: UiServer): Promise<{ providerId: number; jobId: number; moduleId: number }> {
  const load = (text: string) => server.api('POST', '/providers/load', text, 'text/plain');
  const defs = (source: string, versions: string[], platforms = PLATFORMS) =>
    `provider "${source}" {\n  versions  = ${JSON.stringify(versions)}\n  platforms = ${JSON.stringify(platforms)}\n}\n`;
  const jobs: number[] = [];
  for (const text of [
    defs('hashicorp/aws', ['~> 5.80']),
    defs('hashicorp/google', ['>= 6.10']) + defs('hashicorp/kubernetes', ['2.33.0']),
    defs('hashicorp/random', ['~> 3.6']),
    defs('integrations/github', ['6.4.0'], ['linux_amd64']) + `module "${MODULE.source}" {\n  versions = ["${MODULE.version}"]\n}\n`,
  ]) {
    const r = await load(text);
    if (r.status !== 202) throw new Error(`load: ${r.status} ${JSON.stringify(r.json)}`);
    jobs.push(r.json.jobId as number);
  }
  const set = await server.api('PUT', '/provider-sets/ProviderSet/platform/baseline', {
    kind: 'ProviderSet',
    uid: '5f0c2d7e-1b1a-4c0e-9a49-6a4ad8d1e001',
    generation: 3,
    spec: { providers: [{ source: 'hashicorp/null', versions: ['3.2.3'], platforms: ['linux_amd64', 'darwin_arm64'] }] },
  });
  const mirror = await server.api('PUT', '/provider-sets/ProviderMirror/platform/random', {
    kind: 'ProviderMirror',
    uid: '5f0c2d7e-1b1a-4c0e-9a49-6a4ad8d1e002',
    generation: 1,
    spec: { source: 'hashicorp/random', versions: ['~> 3.6'], latest: 2, platforms: ['linux_amd64'] },
  });
  for (const r of [set, mirror]) if (r.status !== 200) throw new Error(`set: ${r.status} ${JSON.stringify(r.json)}`);
  for (const id of [...jobs, set.json.jobId as number, mirror.json.jobId as number].filter((id) => typeof id === 'number')) await waitForJob(server, id);
  await server.api('POST', '/tokens', { name: 'ci-pipeline', role: 'operator', expiresInDays: 90 });
  await server.api('POST', '/tokens', { name: 'k8s-operator', role: 'operator' });
  await server.api('POST', '/users', { username: 'dana', password: 'Saffron-Harbour-31', role: 'operator' });
  // Downloads, so the counts and "most downloaded" say something.
  const providers = (await server.api('GET', '/providers?limit=50')).json.items as { id: number; source: string }[];
  const aws = providers.find((p) => p.source.endsWith('/aws'))!;
  const versionDoc = new URL('registry.terraform.io/hashicorp/aws/5.82.0.json', server.url);
  const archives = (JSON.parse((await server.get(versionDoc.pathname)).text) as { archives: Record<string, { url: string }> }).archives;
  for (const [platform, times] of [['linux_amd64', 3], ['darwin_arm64', 1]] as const) {
    const archive = new URL(archives[platform]!.url, versionDoc);
    for (let n = 0; n < times; n++) await server.get(archive.pathname);
  }
  const moduleId = ((await server.api('GET', '/modules?limit=1')).json.items[0] as { id: number }).id;
  return { providerId: aws.id, jobId: jobs[0]!, moduleId };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.locator('[role="status"].loading').waitFor({ state: 'detached' });
  await page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: false });
  console.log(`docs/ui/${name}.png`);
}

async function main(): Promise<void> {
  const skip = browserSkipReason();
  if (skip) throw new Error(`cannot take screenshots: ${skip}`);
  fs.mkdirSync(outDir, { recursive: true });
  const server = await startUiServer({ providers: SAMPLE });
  try {
    const { providerId, jobId, moduleId } = await seed(server);
    const wide = await openBrowser();
    try {
      const page = await wide.context.newPage();
      await open(page, server.url, 'login');
      await page.getByLabel('Username').waitFor();
      await shot(page, 'login');
      await signIn(page, server.url, ADMIN);
      await waitForDashboardData(page);
      await shot(page, 'dashboard');
      const views: [string, string, (p: Page) => Promise<unknown>][] = [
        ['providers', 'providers', (p) => p.locator('table tbody tr').first().waitFor()],
        [`providers/${providerId}`, 'provider-detail', (p) => p.locator('.version').first().waitFor()],
        ['jobs', 'jobs', (p) => p.locator('table tbody tr').first().waitFor()],
        [`jobs/${jobId}`, 'job-detail', (p) => p.locator('table tbody tr').first().waitFor()],
        ['sets', 'sets', (p) => p.locator('table tbody tr .badge').first().waitFor()],
        ['sets/ProviderSet/platform/baseline', 'set-detail', (p) => p.getByRole('rowheader', { name: 'Ready' }).waitFor()],
        ['storage', 'storage', (p) => p.getByRole('heading', { name: 'Largest packages' }).waitFor()],
        ['audit', 'audit', (p) => p.locator('table tbody tr').first().waitFor()],
        ['users', 'users', (p) => p.locator('table tbody tr').first().waitFor()],
        ['tokens', 'tokens', (p) => p.locator('table tbody tr').first().waitFor()],
        ['config', 'config', (p) => p.locator('table tbody tr').first().waitFor()],
        ['modules', 'modules', (p) => p.locator('table tbody tr').first().waitFor()],
        [`modules/${moduleId}`, 'module-detail', (p) => p.locator('table tbody tr').first().waitFor()],
      ];
      for (const [uiPath, name, ready] of views) {
        await open(page, server.url, uiPath);
        await ready(page);
        await shot(page, name);
      }
      // The load page with a definition the server refused, showing the error at its line.
      await open(page, server.url, 'load');
      await page.getByLabel('Definitions').fill('provider "hashicorp/aws" {\n  versions  = ["~> 5.80"]\n  platforms = ["linux_amd64"]\n  flavour   = "large"\n}\n');
      await page.getByRole('button', { name: 'Plan and load' }).click();
      await page.getByRole('alert').filter({ hasText: 'Line 4' }).waitFor();
      await shot(page, 'load-error');
    } finally {
      await wide.close();
    }
    for (const [name, opts] of [
      ['dashboard-narrow', { viewport: { width: 390, height: 844 } }],
      ['dashboard-dark', { colorScheme: 'dark' as const }],
    ] as const) {
      const browser = await openBrowser(opts);
      try {
        const page = await browser.context.newPage();
        await signIn(page, server.url, ADMIN);
        await waitForDashboardData(page);
        await shot(page, name);
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
