import { createHash } from 'node:crypto';
import anyTest, { type TestFn } from 'ava';
import { rawRequest, startMirror, type MirrorUnderTest } from '../fixtures/mirror-server.js';

const test = anyTest as TestFn<{ m: MirrorUnderTest }>;

test.before(async (t) => {
  t.context.m = await startMirror([
    { namespace: 'hashicorp', type: 'null', versions: { '3.1.0': ['linux_amd64'], '3.2.0': ['linux_amd64', 'darwin_arm64'] } },
  ]);
});
test.after.always(async (t) => t.context.m?.close());

const get = (t: { context: { m: MirrorUnderTest } }, p: string, headers: Record<string, string> = {}, method = 'GET') =>
  rawRequest(t.context.m.serving.url, p, { headers, method });

test('index.json lists the held versions as application/json', async (t) => {
  const res = await get(t, '/registry.terraform.io/hashicorp/null/index.json');
  t.is(res.status, 200);
  t.regex(res.headers['content-type'] ?? '', /^application\/json/);
  t.deepEqual(JSON.parse(res.body.toString()), { versions: { '3.1.0': {}, '3.2.0': {} } });
});

test('{version}.json lists each platform with a relative url carrying the version and the h1 and zh hashes', async (t) => {
  const res = await get(t, '/registry.terraform.io/hashicorp/null/3.2.0.json');
  t.is(res.status, 200);
  const doc = JSON.parse(res.body.toString()) as { archives: Record<string, { url: string; hashes: string[] }> };
  t.deepEqual(Object.keys(doc.archives).sort(), ['darwin_arm64', 'linux_amd64']);
  const a = t.context.m.archives.find((x) => x.version === '3.2.0' && x.platform === 'linux_amd64')!;
  t.deepEqual(doc.archives.linux_amd64, { url: `3.2.0/${a.filename}`, hashes: [a.h1, `zh:${a.sha256}`] });
});

test('matching of hostname, namespace and type is case-insensitive', async (t) => {
  const res = await get(t, '/Registry.Terraform.IO/HashiCorp/NULL/index.json');
  t.is(res.status, 200);
});

const notFound = [
  ['unknown provider', '/registry.terraform.io/hashicorp/aws/index.json'],
  ['unknown version', '/registry.terraform.io/hashicorp/null/9.9.9.json'],
  ['not a version', '/registry.terraform.io/hashicorp/null/latest.json'],
  ['unknown archive', '/registry.terraform.io/hashicorp/null/terraform-provider-null_9.9.9_linux_amd64.zip'],
  ['dot-dot segment', '/registry.terraform.io/../null/index.json'],
  ['dot-dot as hostname', '/../hashicorp/null/index.json'],
  ['encoded slash', '/registry.terraform.io/hashicorp%2fnull/x/index.json'],
  ['encoded dot-dot', '/registry.terraform.io/%2e%2e/null/index.json'],
  ['encoded dot-dot archive', '/registry.terraform.io/hashicorp/null/%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
  ['backslash', '/registry.terraform.io/hashicorp/..%5cnull/index.json'],
  ['too few segments', '/registry.terraform.io/hashicorp/index.json'],
  ['nul byte', '/registry.terraform.io/hashicorp/null%00/index.json'],
] as const;
for (const [name, p] of notFound) {
  test(`404 for ${name}`, async (t) => {
    const res = await get(t, p);
    t.is(res.status, 404, p);
    t.regex(res.headers['content-type'] ?? '', /^application\/json/);
    t.truthy((JSON.parse(res.body.toString()) as { error: { message: string } }).error.message);
  });
}

test('a matching If-None-Match gets 304 without a body', async (t) => {
  const first = await get(t, '/registry.terraform.io/hashicorp/null/index.json');
  const etag = first.headers.etag!;
  t.truthy(etag);
  const again = await get(t, '/registry.terraform.io/hashicorp/null/index.json', { 'If-None-Match': etag });
  t.is(again.status, 304);
  t.is(again.body.length, 0);
  const stale = await get(t, '/registry.terraform.io/hashicorp/null/index.json', { 'If-None-Match': '"other"' });
  t.is(stale.status, 200);
});

test('archives stream with their sha256, length and content type', async (t) => {
  const a = t.context.m.archives.find((x) => x.version === '3.1.0')!;
  const res = await get(t, `/registry.terraform.io/hashicorp/null/${a.filename}`);
  t.is(res.status, 200);
  t.is(res.headers['content-type'], 'application/zip');
  t.is(res.headers['accept-ranges'], 'bytes');
  t.is(createHash('sha256').update(res.body).digest('hex'), a.sha256);
  t.is(Number(res.headers['content-length']), res.body.length);
});

test('HEAD of an archive answers headers only', async (t) => {
  const a = t.context.m.archives.find((x) => x.version === '3.1.0')!;
  const res = await get(t, `/registry.terraform.io/hashicorp/null/${a.filename}`, {}, 'HEAD');
  t.is(res.status, 200);
  t.is(res.body.length, 0);
  t.true(Number(res.headers['content-length']) > 0);
});

test('Range requests return the asked bytes with 206 and Content-Range', async (t) => {
  const a = t.context.m.archives.find((x) => x.version === '3.1.0')!;
  const whole = (await get(t, `/registry.terraform.io/hashicorp/null/${a.filename}`)).body;
  const cases = [
    ['bytes=0-9', 0, 9],
    ['bytes=10-', 10, whole.length - 1],
    ['bytes=-5', whole.length - 5, whole.length - 1],
  ] as const;
  for (const [range, start, end] of cases) {
    const res = await get(t, `/registry.terraform.io/hashicorp/null/${a.filename}`, { Range: range });
    t.is(res.status, 206, range);
    t.is(res.headers['content-range'], `bytes ${start}-${end}/${whole.length}`);
    t.deepEqual(res.body, whole.subarray(start, end + 1));
  }
  const beyond = await get(t, `/registry.terraform.io/hashicorp/null/${a.filename}`, { Range: `bytes=${whole.length}-` });
  t.is(beyond.status, 416);
  t.is(beyond.headers['content-range'], `bytes */${whole.length}`);
});

test('/.well-known/terraform.json names the default upstream provider and module registry pass-through', async (t) => {
  const res = await get(t, '/.well-known/terraform.json');
  t.is(res.status, 200);
  t.regex(res.headers['content-type'] ?? '', /^application\/json/);
  t.deepEqual(JSON.parse(res.body.toString()), { 'providers.v1': '/hosts/registry.terraform.io/v1/providers/', 'modules.v1': '/hosts/registry.terraform.io/v1/modules/' });
});

test('healthz and readyz answer ok, with a request id echoed', async (t) => {
  const health = await get(t, '/healthz', { 'X-Request-Id': 'abc-123' });
  t.is(health.status, 200);
  t.is(health.headers['x-request-id'], 'abc-123');
  const ready = await get(t, '/readyz');
  t.is(ready.status, 200);
  t.deepEqual(JSON.parse(ready.body.toString()).checks, { database: 'ok', storage: 'ok' });
  const unsafe = await get(t, '/healthz', { 'X-Request-Id': 'x'.repeat(500) });
  t.not(unsafe.headers['x-request-id'], 'x'.repeat(500));
});

test('a provider imported by another process appears without a restart', async (t) => {
  const path = '/registry.terraform.io/acme/late/index.json';
  t.is((await get(t, path)).status, 404, 'absent first (and the miss is cached)');
  await t.context.m.importMore([{ namespace: 'acme', type: 'late', versions: { '1.0.0': ['linux_amd64'] } }]);
  // The server polls SQLite's data_version every 500 ms.
  let status = 0;
  for (let i = 0; i < 40 && status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await get(t, path)).status;
  }
  t.is(status, 200);
});
