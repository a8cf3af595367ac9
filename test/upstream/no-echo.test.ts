/**
 * Upstream bytes are never echoed: whatever an upstream answers, the errors
 * that reach job items, HTTP answers and the CLI say what was expected and
 * what came (status, content type, size), not the text. And a misbehaving
 * upstream is the upstream's fault: 502 (504 on a timeout), never 413/422.
 */
import anyTest, { type TestFn } from 'ava';
import Database from 'better-sqlite3';
import path from 'node:path';
import { jobRoutes } from '../../server/src/admin/jobs/routes.js';
import { RegistryClients } from '../../server/src/upstream/registry.js';
import { verifyShasumsLine } from '../../server/src/upstream/verify.js';
import { type FaultRule } from '../fixtures/fake-registry.js';
import { type LoadSetup, loadSetup } from '../fixtures/load-setup.js';
import { runCli } from '../fixtures/tfmirror.js';
import { createWorld, startAdmin } from '../admin/routes/helpers.js';
import { clientFor, recordingSleep } from './helpers.js';

const test = anyTest as TestFn<{ s: LoadSetup }>;

const MARKER = 'SECRET-MARKER-5f2c9';
const DOWNLOAD = '/download/';
const VERSIONS = '/versions';

test.before(async (t) => {
  t.context.s = await loadSetup([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }]);
});
test.afterEach.always((t) => t.context.s.registry.clearFaults());
test.after.always(async (t) => t.context.s.close());

const garbage = (status = 200, contentType = 'text/html'): FaultRule['fault'] => ({ kind: 'respond', status, contentType, body: `<html>${MARKER} stack trace and secrets</html>` });

const clientCases: { name: string; fault: FaultRule; call: 'versions' | 'download' }[] = [
  { name: 'an HTML page instead of JSON', fault: { path: VERSIONS, fault: garbage() }, call: 'versions' },
  { name: 'JSON-looking text that does not parse', fault: { path: VERSIONS, fault: { kind: 'respond', body: `{"versions": ${MARKER}` } }, call: 'versions' },
  { name: 'a 500 with a body', fault: { path: VERSIONS, fault: garbage(500) }, call: 'versions' },
  { name: 'a 403 with a body', fault: { path: VERSIONS, fault: garbage(403) }, call: 'versions' },
  { name: 'a 404 with a body', fault: { path: DOWNLOAD, fault: garbage(404) }, call: 'download' },
  { name: 'a filename that is not a package name', fault: { path: DOWNLOAD, fault: { kind: 'patchJson', patch: { filename: `${MARKER}.exe` } } }, call: 'download' },
  { name: 'a shasum that is not hex', fault: { path: DOWNLOAD, fault: { kind: 'patchJson', patch: { shasum: MARKER } } }, call: 'download' },
  { name: 'an os that is not the one asked for', fault: { path: DOWNLOAD, fault: { kind: 'patchJson', patch: { os: MARKER } } }, call: 'download' },
  { name: 'a download URL that is not a URL', fault: { path: DOWNLOAD, fault: { kind: 'patchJson', patch: { download_url: `ftp://${MARKER}/x` } } }, call: 'download' },
  { name: 'a versions entry that is not a version', fault: { path: VERSIONS, fault: { kind: 'patchJson', patch: { versions: [{ version: MARKER }, { version: '1.0.0', platforms: [{ os: MARKER, arch: 'x' }] }] } } }, call: 'versions' },
];

for (const c of clientCases) {
  test.serial(`the client's error for ${c.name} does not quote the upstream`, async (t) => {
    const { s } = t.context;
    const client = clientFor(s.registry, { sleep: recordingSleep().sleep, maxAttempts: 2 });
    t.teardown(() => client.close());
    s.registry.fault(c.fault);
    try {
      const result = c.call === 'versions' ? await client.listVersions('hashicorp', 'null') : await client.downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64');
      // Malformed entries are skipped and reported as problems, which travel to plans: they must not quote either.
      const problems = 'problems' in result ? result.problems : [];
      t.true(problems.length > 0, 'only a versions list with skipped entries may succeed');
      t.false(JSON.stringify(problems).includes(MARKER), problems.join('\n'));
    } catch (err) {
      t.false((err as Error).message.includes(MARKER), (err as Error).message);
      t.true((err as Error).message.length < 600);
    }
  });
}

const MODULE_VERSIONS = '/v1/modules/acme/net/aws/versions';
const MODULE_DOWNLOAD = '/v1/modules/acme/net/aws/1.0.0/download';
const moduleCases: { name: string; fault: FaultRule; call: 'versions' | 'download' }[] = [
  { name: 'a module versions answer that is an HTML page', fault: { path: MODULE_VERSIONS, fault: garbage() }, call: 'versions' },
  { name: 'a module versions answer that does not parse', fault: { path: MODULE_VERSIONS, fault: { kind: 'respond', body: `{"modules": ${MARKER}` } }, call: 'versions' },
  { name: 'a module versions answer of the wrong shape', fault: { path: MODULE_VERSIONS, fault: { kind: 'respond', body: JSON.stringify({ modules: [{ versions: MARKER }] }) } }, call: 'versions' },
  { name: 'module version entries that are not versions', fault: { path: MODULE_VERSIONS, fault: { kind: 'respond', body: JSON.stringify({ modules: [{ versions: [{ version: MARKER }, { version: '1.0.0' }] }] }) } }, call: 'versions' },
  { name: 'a module download 500 with a body', fault: { path: MODULE_DOWNLOAD, fault: garbage(500) }, call: 'download' },
  { name: 'a module download 200 whose body does not parse', fault: { path: MODULE_DOWNLOAD, fault: garbage(200) }, call: 'download' },
  { name: 'a module download 200 whose location is not a string', fault: { path: MODULE_DOWNLOAD, fault: { kind: 'respond', body: JSON.stringify({ location: { MARKER } }) } }, call: 'download' },
  { name: 'a module download with a location too long', fault: { path: MODULE_DOWNLOAD, fault: { kind: 'status', status: 204, headers: { 'x-terraform-get': `./${MARKER}${'x'.repeat(5000)}` } } }, call: 'download' },
  { name: 'a module download answering 201', fault: { path: MODULE_DOWNLOAD, fault: { kind: 'status', status: 201, headers: { 'x-terraform-get': MARKER } } }, call: 'download' },
];

for (const c of moduleCases) {
  test.serial(`the module client's error for ${c.name} does not quote the upstream`, async (t) => {
    const { s } = t.context;
    s.registry.addModule({ namespace: 'acme', name: 'net', system: 'aws', versions: { '1.0.0': 'git::https://github.com/acme/net?ref=v1.0.0' } });
    const client = clientFor(s.registry, { sleep: recordingSleep().sleep, maxAttempts: 2 });
    t.teardown(() => client.close());
    s.registry.fault(c.fault);
    const address = { hostname: s.registry.hostname, namespace: 'acme', name: 'net', system: 'aws' };
    try {
      if (c.call === 'versions') {
        const list = await client.modules().listVersions(address);
        t.deepEqual(list, ['1.0.0'], 'only a list with skipped entries may succeed, and it drops the bad one');
      } else {
        await client.modules().downloadLocation(address, '1.0.0');
        t.fail('the download location was accepted');
      }
    } catch (err) {
      t.false((err as Error).message.includes(MARKER), (err as Error).message);
      t.true((err as Error).message.length < 600);
    }
  });
}

test.serial('a JSON body that does not parse is described by its size and content type', async (t) => {
  const { s } = t.context;
  const client = clientFor(s.registry);
  t.teardown(() => client.close());
  s.registry.fault({ path: VERSIONS, fault: garbage() });
  const err = await t.throwsAsync(client.listVersions('hashicorp', 'null'));
  t.regex(err.message, /expected a JSON document, got \d+ bytes of text\/html that do not parse as JSON/);
});

test('a malformed SHA256SUMS is reported by line number, not by its text', (t) => {
  const err = t.throws(() => verifyShasumsLine(Buffer.from(`${MARKER}  p.zip\n`), 'p.zip', 'a'.repeat(64)));
  t.regex(err.message, /line 1 is malformed/);
  t.false(err.message.includes(MARKER));
});

test.serial('a job item failed by a garbage upstream answer records no upstream text, nor does the CLI print any', async (t) => {
  const { s } = t.context;
  s.registry.fault({ path: DOWNLOAD, fault: garbage() });
  const defs = s.writeDefinitions('null.hcl', 'provider "hashicorp/null" {\n  versions  = ["3.2.0"]\n  platforms = ["linux_amd64"]\n}\n');
  const res = await runCli(['load', defs], { ...s.env, TFM_JOBS_MAX_ATTEMPTS: '1' });
  t.is(res.code, 1, res.stdout + res.stderr);
  t.regex(res.stdout, /failed .*invalid response from/);
  t.false(res.stdout.includes(MARKER) || res.stderr.includes(MARKER));
  const db = new Database(path.join(s.dir, 'data', 'tfmirror.db'), { readonly: true });
  try {
    const errors = db.prepare('SELECT error FROM job_items').all() as { error: string | null }[];
    t.true(errors.length > 0);
    for (const e of errors) t.false((e.error ?? '').includes(MARKER), e.error ?? '');
  } finally {
    db.close();
  }
});

const httpCases: { name: string; fault: FaultRule['fault']; status: number; message: RegExp }[] = [
  { name: 'a garbage answer', fault: garbage(), status: 502, message: /invalid response from/ },
  { name: 'a 500 that persists', fault: garbage(500), status: 502, message: /answered 500/ },
  { name: 'an oversized answer (not 413)', fault: { kind: 'hugeBody', bytes: 5 * 1024 * 1024 }, status: 502, message: /more than the 4194304 allowed/ },
  { name: 'a truncated answer (not 422)', fault: { kind: 'truncated' }, status: 502, message: /truncated response/ },
  { name: 'an answer too slow to come', fault: { kind: 'slow', ms: 1500 }, status: 504, message: /took more than 0.3 s/ },
];

for (const c of httpCases) {
  test.serial(`POST /admin/api/providers/load with ${c.name} upstream is ${c.status} naming the upstream, without its bytes`, async (t) => {
    const { s } = t.context;
    const world = await createWorld();
    const registries = new RegistryClients(
      { 'registry.terraform.io': { url: s.registry.url } },
      { ca: s.registry.caPem, maxAttempts: 2, responseTimeoutMs: 300, sleep: recordingSleep().sleep },
    );
    const server = await startAdmin(jobRoutes({ jobs: world.jobs, registries, maxAttempts: 1 }));
    t.teardown(async () => {
      await server.close();
      registries.close();
      world.close();
    });
    s.registry.fault({ path: VERSIONS, fault: c.fault });
    const body = 'provider "hashicorp/null" {\n  versions  = ["3.2.0"]\n  platforms = ["linux_amd64"]\n}\n';
    const res = await server.call('POST', '/providers/load', { token: 'admin-token', body, contentType: 'text/plain' });
    t.is(res.status, c.status, JSON.stringify(res.body));
    t.regex(res.body.error.message, c.message);
    t.is(res.body.error.upstream, new URL(s.registry.url).host);
    t.false(JSON.stringify(res.body).includes(MARKER));
  });
}
