import anyTest, { type TestFn } from 'ava';
import { Unavailable, UpstreamError } from '../../server/src/errors.js';
import { TruncatedResponse, UpstreamRefused, UpstreamTimeout, UpstreamTooLarge, UpstreamUnavailable } from '../../server/src/upstream/errors.js';
import { HttpClient } from '../../server/src/upstream/http.js';
import { type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';
import { clientFor, recordingSleep, sha256OfStream } from './helpers.js';

const test = anyTest as TestFn<{ registry: FakeRegistry }>;

test.before(async (t) => {
  t.context.registry = await startFakeRegistry([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }]);
});
test.afterEach.always((t) => t.context.registry.clearFaults());
test.after.always(async (t) => t.context.registry.close());

const VERSIONS = '/v1/providers/hashicorp/null/versions';
const ZIP = 'terraform-provider-null_3.2.0_linux_amd64.zip';

test.serial('429 with Retry-After is retried after the delay', async (t) => {
  const { registry } = t.context;
  const { sleeps, sleep } = recordingSleep();
  const client = clientFor(registry, { sleep });
  await client.providersBaseUrl();
  const before = registry.requests(VERSIONS);
  registry.fault({ path: VERSIONS, fault: { kind: 'status429', retryAfter: 2 }, times: 1 });
  const list = await client.listVersions('hashicorp', 'null');
  t.is(list.versions.length, 1);
  t.deepEqual(sleeps, [2000]);
  t.is(registry.requests(VERSIONS) - before, 2);
  t.is(client.stats().results.rate_limited, 1);
  t.is(client.stats().retries, 1);
});

test.serial('Retry-After as an HTTP date is honoured', async (t) => {
  const { registry } = t.context;
  const { sleeps, sleep } = recordingSleep();
  const now = Date.UTC(2030, 0, 1, 12, 0, 0);
  const client = clientFor(registry, { sleep, now: () => now });
  registry.fault({ path: VERSIONS, fault: { kind: 'status429', retryAfter: new Date(now + 7000).toUTCString() }, times: 1 });
  await client.listVersions('hashicorp', 'null');
  t.deepEqual(sleeps, [7000]);
});

test.serial('503 with Retry-After is retried after the delay too', async (t) => {
  const { registry } = t.context;
  const { sleeps, sleep } = recordingSleep();
  registry.fault({ path: VERSIONS, fault: { kind: 'status', status: 503, headers: { 'retry-after': '3' } }, times: 2 });
  await clientFor(registry, { sleep }).listVersions('hashicorp', 'null');
  t.deepEqual(sleeps, [3000, 3000]);
});

test.serial('a Retry-After beyond the cap gives up at once with a clear error', async (t) => {
  const { registry } = t.context;
  const { sleeps, sleep } = recordingSleep();
  const client = clientFor(registry, { sleep });
  await client.providersBaseUrl();
  const before = registry.requests(VERSIONS);
  registry.fault({ path: VERSIONS, fault: { kind: 'status429', retryAfter: 3600 } });
  const err = await t.throwsAsync(client.listVersions('hashicorp', 'null'), { instanceOf: UpstreamUnavailable });
  t.regex(err.message, /asked to retry after 3600 s \(HTTP 429\), longer than the 60 s/);
  t.deepEqual(sleeps, []);
  t.is(registry.requests(VERSIONS) - before, 1);
});

test.serial('500 then success is retried with jittered exponential backoff', async (t) => {
  const { registry } = t.context;
  const { sleeps, sleep } = recordingSleep();
  registry.fault({ path: VERSIONS, fault: { kind: 'status500' }, times: 3 });
  const client = clientFor(registry, { sleep, random: () => 0.5 });
  const list = await client.listVersions('hashicorp', 'null');
  t.is(list.versions.length, 1);
  t.deepEqual(sleeps, [125, 250, 500]);
  t.is(client.stats().results.server_error, 3);
});

test.serial('backoff is capped', async (t) => {
  const { registry } = t.context;
  const { sleeps, sleep } = recordingSleep();
  registry.fault({ path: VERSIONS, fault: { kind: 'status500' }, times: 5 });
  await clientFor(registry, { sleep, random: () => 0.999, maxAttempts: 6, backoffBaseMs: 1000, backoffCapMs: 3000 }).listVersions('hashicorp', 'null');
  t.deepEqual(sleeps, [999, 1998, 2997, 2997, 2997]);
});

test.serial('exhausted retries are an upstream failure (not our Unavailable) and name the last status', async (t) => {
  const { registry } = t.context;
  const { sleeps, sleep } = recordingSleep();
  const client = clientFor(registry, { sleep, maxAttempts: 3 });
  await client.providersBaseUrl();
  const before = registry.requests(VERSIONS);
  registry.fault({ path: VERSIONS, fault: { kind: 'status500' } });
  const err = await t.throwsAsync(client.listVersions('hashicorp', 'null'), { instanceOf: UpstreamError });
  t.true(err instanceof UpstreamUnavailable);
  t.false(err instanceof Unavailable, 'a failing upstream is not the mirror being unavailable');
  t.false(err instanceof UpstreamTimeout);
  t.regex(err.message, /failed after 3 attempt\(s\): .* answered 500/);
  t.is((err as UpstreamUnavailable).details.status, 500);
  t.is(registry.requests(VERSIONS) - before, 3);
  t.is(sleeps.length, 2);
});

test.serial('a 403 is not retried', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry, { sleep: recordingSleep().sleep });
  await client.providersBaseUrl();
  const before = registry.requests(VERSIONS);
  registry.fault({ path: VERSIONS, fault: { kind: 'status', status: 403 } });
  const err = await t.throwsAsync(client.listVersions('hashicorp', 'null'), { instanceOf: UpstreamUnavailable });
  t.is(err.details.status, 403);
  t.is(registry.requests(VERSIONS) - before, 1);
});

test.serial('a connection refused is retried, then Unavailable', async (t) => {
  const { sleeps, sleep } = recordingSleep();
  const client = new HttpClient({ sleep, maxAttempts: 2, reach: { requireHttps: false, allowPrivate: true } });
  const err = await t.throwsAsync(client.getBuffer('http://127.0.0.1:1/x', { limit: 10 }), { instanceOf: UpstreamUnavailable });
  t.regex(err.message, /ECONNREFUSED/);
  t.is(sleeps.length, 1);
  t.is(client.stats().results.network_error, 2);
});

test.serial('a truncated archive body is a TruncatedResponse of the upstream', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry);
  const info = await client.downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64');
  registry.fault({ path: ZIP, fault: { kind: 'truncated' } });
  const download = await client.download(info.downloadUrl);
  const err = await t.throwsAsync(sha256OfStream(download.body), { instanceOf: TruncatedResponse });
  t.regex(err.message, /truncated response .*: received \d+ bytes of the \d+ announced by Content-Length/);
  t.is(client.stats().results.truncated, 1);
  t.is(client.stats().inFlight, 0, 'the concurrency slot is released');
});

test.serial('a truncated document is retried, and is a TruncatedResponse if it stays truncated', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry, { sleep: recordingSleep().sleep, maxAttempts: 2 });
  registry.fault({ path: VERSIONS, fault: { kind: 'truncated' }, times: 1 });
  t.is((await client.listVersions('hashicorp', 'null')).versions.length, 1);
  registry.fault({ path: VERSIONS, fault: { kind: 'truncated' } });
  await t.throwsAsync(client.listVersions('hashicorp', 'null'), { instanceOf: TruncatedResponse, message: /truncated/ });
});

for (const declareLength of [true, false]) {
  test.serial(`a versions answer over 4 MiB is UpstreamTooLarge (${declareLength ? 'Content-Length' : 'chunked'})`, async (t) => {
    const { registry } = t.context;
    const client = clientFor(registry, { sleep: recordingSleep().sleep });
    await client.providersBaseUrl();
    const before = registry.requests(VERSIONS);
    registry.fault({ path: VERSIONS, fault: { kind: 'hugeBody', bytes: 5 * 1024 * 1024, declareLength } });
    const err = await t.throwsAsync(client.listVersions('hashicorp', 'null'), { instanceOf: UpstreamTooLarge });
    t.regex(err.message, /4194304/);
    t.is(registry.requests(VERSIONS) - before, 1, 'not retried');
  });
}

test.serial('an archive over the download limit is UpstreamTooLarge', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry, { downloadMaxBytes: 100 });
  const info = await client.downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64');
  await t.throwsAsync(client.download(info.downloadUrl), { instanceOf: UpstreamTooLarge, message: /more than the 100 allowed/ });
});

test.serial('the concurrency limit caps requests in flight at the upstream', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry, { concurrency: 2 });
  await client.providersBaseUrl();
  registry.resetCounters();
  registry.fault({ path: VERSIONS, fault: { kind: 'slow', ms: 150 } });
  await Promise.all(Array.from({ length: 6 }, () => client.listVersions('hashicorp', 'null')));
  t.is(registry.maxInFlight(), 2);
  t.is(client.stats().maxInFlight, 2);
  t.is(client.stats().inFlight, 0);
});

test.serial('a streaming archive holds its concurrency slot until the body is read', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry, { concurrency: 1 });
  const info = await client.downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64');
  const first = await client.download(info.downloadUrl);
  let secondStarted = false;
  const second = client.download(info.downloadUrl).then((d) => {
    secondStarted = true;
    return d;
  });
  await new Promise((r) => setTimeout(r, 100));
  t.false(secondStarted);
  await sha256OfStream(first.body);
  await sha256OfStream((await second).body);
  t.true(secondStarted);
});

test.serial('a stalled response times out, is retried, and is an UpstreamTimeout', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry, { responseTimeoutMs: 100, maxAttempts: 2, sleep: recordingSleep().sleep });
  await client.providersBaseUrl();
  const before = registry.requests(VERSIONS);
  registry.fault({ path: VERSIONS, fault: { kind: 'slow', ms: 400 } });
  const err = await t.throwsAsync(client.listVersions('hashicorp', 'null'), { instanceOf: UpstreamTimeout });
  t.regex(err.message, /waiting for an answer from localhost:\d+ took more than 0.1 s/);
  t.is(registry.requests(VERSIONS) - before, 2);
  t.is(client.stats().results.timeout, 2);
});

test.serial('aborting stops waiting and is not retried', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry);
  await client.providersBaseUrl();
  registry.fault({ path: VERSIONS, fault: { kind: 'slow', ms: 300 } });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const err = await t.throwsAsync(client.listVersions('hashicorp', 'null', controller.signal));
  t.is(err.name, 'AbortError');
  t.is(client.stats().inFlight, 0);
});

test.serial('a redirect from https to http is refused', async (t) => {
  const { registry } = t.context;
  registry.fault({ path: '/.well-known/', fault: { kind: 'status', status: 302, headers: { location: 'http://127.0.0.1:1/x' } } });
  const err = await t.throwsAsync(clientFor(registry).providersBaseUrl(), { instanceOf: UpstreamRefused });
  t.regex(err.message, /redirects to insecure http:\/\/127.0.0.1:1\/x; refused/);
});

test.serial('a server certificate from an untrusted CA is refused without retries', async (t) => {
  const { registry } = t.context;
  const { sleeps, sleep } = recordingSleep();
  const client = new HttpClient({ sleep, reach: { requireHttps: true, allowPrivate: true } });
  await t.throwsAsync(client.getBuffer(`${registry.url}.well-known/terraform.json`, { limit: 1024 }), {
    instanceOf: UpstreamUnavailable,
    message: /certificate/i,
  });
  t.deepEqual(sleeps, []);
});
