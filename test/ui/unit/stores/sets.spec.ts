import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { ApiError, setApi } from '../../../../server/src/ui/src/api';
import { conditionsOf, keyOf, summaryOf, useSets, type SetStatus } from '../../../../server/src/ui/src/stores/sets';
import { apiOver, fakeServer } from '../fake-server';

const base: SetStatus = {
  namespace: 'team-a',
  name: 'core',
  uid: 'u1',
  observedGeneration: 2,
  desired: 3,
  ready: 3,
  failed: 0,
  pending: 0,
  jobId: 7,
  jobStatus: 'succeeded',
  failures: [],
  resolvedVersions: [],
  problems: [],
  lastSyncTime: null,
};

// The operator's statusFrom (operator/src/decide.ts) for the same inputs; the UI must say what kubectl says.
const cases: { name: string; status: Partial<SetStatus>; ready: [string, string]; progressing: [string, string]; degraded: [string, string]; summary: string }[] = [
  { name: 'everything mirrored is Ready/AllMirrored', status: {}, ready: ['True', 'AllMirrored'], progressing: ['False', 'Idle'], degraded: ['False', 'AsExpected'], summary: 'ready' },
  {
    name: 'a running job is Progressing/Mirroring and not Ready',
    status: { ready: 1, pending: 2, jobStatus: 'running' },
    ready: ['False', 'Mirroring'],
    progressing: ['True', 'Mirroring'],
    degraded: ['False', 'AsExpected'],
    summary: 'mirroring',
  },
  {
    name: 'failed items are Degraded/ItemsFailed',
    status: { ready: 2, failed: 1 },
    ready: ['False', 'ItemsFailed'],
    progressing: ['False', 'Idle'],
    degraded: ['True', 'ItemsFailed'],
    summary: 'degraded',
  },
  {
    name: 'a spec that resolves to nothing with a problem is NothingResolved',
    status: { desired: 0, ready: 0, problems: ['no version of hashicorp/aws matches "~> 99"'] },
    ready: ['False', 'NothingResolved'],
    progressing: ['False', 'Idle'],
    degraded: ['True', 'NothingResolved'],
    summary: 'degraded',
  },
  {
    name: 'problems with every desired item held are not Ready',
    status: { problems: ['upstream unreachable'] },
    ready: ['False', 'ProblemsReported'],
    progressing: ['False', 'Idle'],
    degraded: ['True', 'ProblemsReported'],
    summary: 'degraded',
  },
];

describe('sets store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  for (const c of cases) {
    it(`conditions: ${c.name}`, () => {
      const [ready, progressing, degraded] = conditionsOf({ ...base, ...c.status });
      expect([ready!.status, ready!.reason]).toEqual(c.ready);
      expect([progressing!.status, progressing!.reason]).toEqual(c.progressing);
      expect([degraded!.status, degraded!.reason]).toEqual(c.degraded);
      expect(summaryOf({ ...base, ...c.status })).toBe(c.summary);
    });
  }

  it('the Ready message carries the notices, as the custom resource does', () => {
    expect(conditionsOf({ ...base, notices: ['resolved against held versions'] })[0]!.message).toBe('all 3 packages mirrored (resolved against held versions)');
  });

  it('lists every set with its status, and one set’s failed status does not hide the others', async () => {
    const server = fakeServer({
      'GET /admin/api/provider-sets': {
        body: {
          items: [
            { kind: 'ProviderSet', namespace: 'team-a', name: 'core', uid: 'u1', generation: 2 },
            { kind: 'ProviderMirror', namespace: 'team-a', name: 'core', uid: 'u2', generation: 1 },
          ],
        },
      },
      'GET /admin/api/provider-sets/ProviderSet/team-a/core': { body: base },
      'GET /admin/api/provider-sets/ProviderMirror/team-a/core': { status: 404, body: { error: { message: 'no such provider set' } } },
    });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const sets = useSets();
    await sets.fetch();
    expect(sets.items).toHaveLength(2);
    expect(sets.statuses[keyOf({ kind: 'ProviderSet', namespace: 'team-a', name: 'core' })]).toMatchObject({ ready: 3 });
    const missing = sets.statuses[keyOf({ kind: 'ProviderMirror', namespace: 'team-a', name: 'core' })];
    expect(missing).toBeInstanceOf(ApiError);
    expect(missing).toMatchObject({ status: 404 });
    expect(sets.error).toBeUndefined();
  });

  it('a detail of another set does not show the previous one while it loads', async () => {
    const server = fakeServer({
      'GET /admin/api/provider-sets/ProviderSet/team-a/core': { body: base },
      'GET /admin/api/provider-sets/ProviderSet/team-b/edge': { body: { ...base, namespace: 'team-b', name: 'edge' } },
    });
    setApi(apiOver(server, { token: () => 't', unauthorized: () => {} }));
    const sets = useSets();
    await sets.fetchDetail({ kind: 'ProviderSet', namespace: 'team-a', name: 'core' });
    expect(sets.detail?.name).toBe('core');
    const pending = sets.fetchDetail({ kind: 'ProviderSet', namespace: 'team-b', name: 'edge' });
    expect(sets.detail).toBeUndefined();
    await pending;
    expect(sets.detail?.name).toBe('edge');
  });
});
