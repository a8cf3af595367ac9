import test from 'ava';
import type { ProviderIdentity } from '../../server/src/db/providers.js';
import { Metrics } from '../../server/src/metrics/index.js';
import { PullThrough } from '../../server/src/pull/pull-through.js';
import { FakeMetadata, FakePuller } from './fakes.js';

const id: ProviderIdentity = { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' };

test('the scrape counts the seam: misses, answers by kind, coalesced waiters and stale answers', async (t) => {
  const metadata = new FakeMetadata([{ id, versions: { '1.0.0': { linux_amd64: Buffer.from('zip') } } }]);
  metadata.mode = { slowMs: 30 };
  const seam = new PullThrough({
    policy: { enabled: true, include: ['registry.terraform.io/*/*'], exclude: [] },
    upstreams: ['registry.terraform.io'],
    metadata,
    puller: new FakePuller(() => Buffer.from('zip')),
  });
  await Promise.all([seam.versions(id, false), seam.versions(id, false), seam.versions(id, false)]);
  metadata.freshness = 'stale';
  await seam.versions(id, false);
  await seam.versions({ ...id, hostname: 'elsewhere.example' }, false);
  const metrics = new Metrics({ defaultMetrics: false, pullSeam: () => ({ seam: seam.stats }) });
  const text = await metrics.scrape();
  t.regex(text, /^pull_misses_total 4$/m);
  t.regex(text, /^pull_answers_total\{answer="pulled"\} 3$/m);
  t.regex(text, /^pull_answers_total\{answer="stale"\} 1$/m);
  t.regex(text, /^pull_answers_total\{answer="refused"\} 1$/m);
  t.regex(text, /^pull_coalesced_waiters_total 2$/m);
});
