import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setApi } from '../../../../server/src/ui/src/api';
import { flatten, useConfig } from '../../../../server/src/ui/src/stores/config';
import { shares, useStorage } from '../../../../server/src/ui/src/stores/storage';
import { apiOver, fakeServer } from '../fake-server';

const usage = (bytes: number) => ({ providers: 1, versions: 1, packages: 1, bytes, downloads: 0 });

describe('storage and configuration stores', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('shares are of the total, largest first, with one decimal; an empty store is 0 %', () => {
    expect(shares([{ h: 'a', b: 1 }, { h: 'b', b: 2 }], (r) => r.h, (r) => r.b, 3)).toEqual([
      { label: 'b', bytes: 2, percent: 66.7 },
      { label: 'a', bytes: 1, percent: 33.3 },
    ]);
    expect(shares([{ h: 'a', b: 0 }], (r) => r.h, (r) => r.b, 0)).toEqual([{ label: 'a', bytes: 0, percent: 0 }]);
  });

  it('the report is split per registry and per namespace', async () => {
    const server = fakeServer({
      'GET /admin/api/stats/storage': {
        body: {
          totals: usage(400),
          byHostname: [{ hostname: 'registry.terraform.io', ...usage(100) }, { hostname: 'registry.opentofu.org', ...usage(300) }],
          byNamespace: [{ hostname: 'registry.opentofu.org', namespace: 'hashicorp', ...usage(300) }],
          byProvider: [],
          largestPackages: [],
          mostDownloaded: [],
        },
      },
    });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const storage = useStorage();
    await storage.fetch();
    expect(storage.byHostname.map((h) => [h.label, h.percent])).toEqual([['registry.opentofu.org', 75], ['registry.terraform.io', 25]]);
    expect(storage.byNamespace[0]).toMatchObject({ label: 'registry.opentofu.org/hashicorp', percent: 75 });
  });

  it('the configuration is listed as dotted keys, with redacted secrets marked and never shown', async () => {
    const server = fakeServer({
      'GET /admin/api/config': { body: { data_dir: './data', auth: { jwt_secret: '[redacted]', operator_token: '' }, jobs: { concurrency: 4 }, pull_through: { include: ['a/*'] }, limits: {} } },
    });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const config = useConfig();
    await config.fetch();
    expect(config.entries).toEqual([
      { key: 'data_dir', value: './data', redacted: false },
      { key: 'auth.jwt_secret', value: '[redacted]', redacted: true },
      { key: 'auth.operator_token', value: '', redacted: false },
      { key: 'jobs.concurrency', value: '4', redacted: false },
      { key: 'pull_through.include', value: '["a/*"]', redacted: false },
      { key: 'limits', value: '{}', redacted: false },
    ]);
    expect(flatten('x', 'k')).toEqual([{ key: 'k', value: 'x', redacted: false }]);
  });
});
