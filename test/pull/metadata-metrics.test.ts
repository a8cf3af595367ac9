import anyTest, { type TestFn } from 'ava';
import { Metrics } from '../../server/src/metrics/index.js';
import { type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';
import { HOST, NULL_PROVIDER, TTL_MS, metadataFor, removeTempDirs } from './metadata-helpers.js';

const test = anyTest as TestFn<{ registry: FakeRegistry }>;

test.before(async (t) => {
  t.context.registry = await startFakeRegistry([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }]);
});
test.after.always(async (t) => {
  await t.context.registry.close();
  removeTempDirs();
});

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('metrics show each configured upstream state, metadata fetches by result, and stale answers', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry, { hostnames: [HOST, 'registry.opentofu.org'] });
  const metrics = new Metrics({ defaultMetrics: false, pullMetadata: () => m.metadata.stats() });

  let text = await metrics.scrape();
  t.is(sample(text, `pull_upstream_state{hostname="${HOST}"}`), 0);
  t.is(sample(text, 'pull_upstream_state{hostname="registry.opentofu.org"}'), 0, 'listed before it is first asked');

  await m.metadata.versions(NULL_PROVIDER);
  await m.metadata.release(NULL_PROVIDER, '3.2.0');
  m.clock.t += TTL_MS;
  await m.metadata.versions(NULL_PROVIDER);
  await m.metadata.settled();
  registry.fault({ path: '/acme/', fault: { kind: 'status429', retryAfter: 30 }, times: 1 });
  await t.throwsAsync(m.metadata.versions({ hostname: HOST, namespace: 'acme', type: 'widget' }));
  await t.throwsAsync(m.metadata.versions({ hostname: HOST, namespace: 'acme', type: 'other' }));
  await t.throwsAsync(m.metadata.versions({ hostname: 'unconfigured.example.com', namespace: 'a', type: 'b' }));

  text = await metrics.scrape();
  t.is(sample(text, `pull_upstream_state{hostname="${HOST}"}`), 1);
  t.is(sample(text, `pull_upstream_metadata_fetches_total{hostname="${HOST}",kind="versions",result="ok"}`), 2);
  t.is(sample(text, `pull_upstream_metadata_fetches_total{hostname="${HOST}",kind="release",result="ok"}`), 1);
  t.is(sample(text, `pull_upstream_metadata_fetches_total{hostname="${HOST}",kind="versions",result="failed"}`), 1, 'the 429 itself');
  t.is(sample(text, `pull_upstream_metadata_fetches_total{hostname="${HOST}",kind="versions",result="backing_off"}`), 1, 'refused without a request');
  t.is(sample(text, `pull_stale_answers_total{hostname="${HOST}"}`), 1);
  t.false(text.includes('unconfigured.example.com'), 'only configured upstreams are labels');
  await m.close();
});
