import test from 'ava';
import type { Condition, ModuleSet, ProviderMirror, ProviderSet } from '../../../operator/src/api/v1alpha1.js';
import { type DecideInput, FINALIZER, type MirrorResource, decide, parseDuration } from '../../../operator/src/decide.js';
import type { ServerStatus } from '../../../operator/src/server-client.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const EARLIER = '2026-03-01T10:00:00Z';

function set(extra: { generation?: number; status?: ProviderSet['status']; deletionPolicy?: 'Delete'; finalizers?: string[]; deleting?: boolean } = {}): ProviderSet {
  return {
    apiVersion: 'tfmirror.dev/v1alpha1',
    kind: 'ProviderSet',
    metadata: {
      name: 'a',
      namespace: 'ns',
      uid: 'uid-a',
      generation: extra.generation ?? 1,
      resourceVersion: '7',
      ...(extra.finalizers ? { finalizers: extra.finalizers } : {}),
      ...(extra.deleting ? { deletionTimestamp: EARLIER } : {}),
    },
    spec: { providers: [{ source: 'hashicorp/null', versions: ['3.2.0'], platforms: ['linux_amd64'] }], ...(extra.deletionPolicy ? { deletionPolicy: extra.deletionPolicy } : {}) },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

function mirror(syncInterval: string | undefined, status?: ProviderMirror['status']): ProviderMirror {
  return {
    apiVersion: 'tfmirror.dev/v1alpha1',
    kind: 'ProviderMirror',
    metadata: { name: 'm', namespace: 'ns', uid: 'uid-m', generation: 1 },
    spec: { source: 'hashicorp/aws', versions: ['~> 5.0'], platforms: ['linux_amd64'], ...(syncInterval ? { syncInterval } : {}) },
    ...(status ? { status } : {}),
  };
}

function server(extra: Partial<ServerStatus> = {}): ServerStatus {
  return {
    namespace: 'ns', name: 'a', uid: 'uid-a', observedGeneration: 1,
    desired: 2, ready: 2, failed: 0, pending: 0, jobId: 1, jobStatus: 'succeeded',
    failures: [], resolvedVersions: [], problems: [], lastSyncTime: EARLIER, ...extra,
  };
}

const cond = (type: string, status: Condition['status'], reason: string, lastTransitionTime = '2026-02-01T00:00:00Z'): Condition => ({
  type, status, reason, observedGeneration: 1, lastTransitionTime, message: '',
});

const condition = (d: ReturnType<typeof decide>, type: string) => d.status.conditions?.find((c) => c.type === type);

/** The status decide writes for a settled, fully mirrored set: feeding it back must change nothing. */
const settled = decide({ object: set({ status: { observedGeneration: 1 } }), server: server(), now: NOW }).status;

interface Case {
  name: string;
  input: DecideInput;
  expect: Partial<Pick<ReturnType<typeof decide>, 'action' | 'resync' | 'purge' | 'requeueAfterMs'>>;
  check?: (d: ReturnType<typeof decide>, t: import('ava').ExecutionContext) => void;
}

const cases: Case[] = [
  {
    name: 'a new object the server has never seen is PUT',
    input: { object: set(), server: undefined, now: NOW },
    expect: { action: 'put', resync: false },
  },
  {
    name: 'an unchanged generation the server has finished needs nothing and no requeue',
    input: { object: set({ status: settled }), server: server(), now: NOW },
    expect: { action: 'none', requeueAfterMs: undefined },
    check: (d, t) => t.deepEqual(d.status, settled),
  },
  {
    name: 'a spec edit (generation ahead of status) is PUT again',
    input: { object: set({ generation: 2, status: settled }), server: server(), now: NOW },
    expect: { action: 'put' },
  },
  {
    name: 'a server record from another uid (recreated object) is PUT again',
    input: { object: set({ status: settled }), server: server({ uid: 'old-uid' }), now: NOW },
    expect: { action: 'put' },
  },
  {
    name: 'a server that lost its record is PUT again',
    input: { object: set({ status: settled }), server: undefined, now: NOW },
    expect: { action: 'put' },
  },
  {
    name: 'a running job is polled every two seconds and reported as progressing',
    input: { object: set({ status: settled }), server: server({ ready: 0, pending: 2, jobStatus: 'running' }), now: NOW },
    expect: { action: 'get', requeueAfterMs: 2000 },
    check: (d, t) => {
      t.like(condition(d, 'Progressing'), { status: 'True', reason: 'Mirroring' });
      t.like(condition(d, 'Ready'), { status: 'False', reason: 'Mirroring' });
    },
  },
  {
    name: 'a mirror whose sync interval has passed is PUT with resync',
    input: { object: mirror('1h', { observedGeneration: 1 }), server: server({ uid: 'uid-m', lastSyncTime: EARLIER }), now: NOW },
    expect: { action: 'put', resync: true },
  },
  {
    name: 'a mirror not yet due is requeued for its next sync',
    input: { object: mirror('6h', { observedGeneration: 1 }), server: server({ uid: 'uid-m', lastSyncTime: EARLIER }), now: NOW },
    expect: { action: 'none', requeueAfterMs: 4 * 3_600_000 },
  },
  {
    name: 'a mirror without syncInterval syncs hourly',
    input: { object: mirror(undefined, { observedGeneration: 1 }), server: server({ uid: 'uid-m', lastSyncTime: '2026-03-01T11:30:00Z' }), now: NOW },
    expect: { action: 'none', requeueAfterMs: 30 * 60_000 },
  },
  {
    name: 'conditions that keep their status keep their lastTransitionTime',
    input: {
      object: set({ status: { observedGeneration: 1, conditions: [cond('Ready', 'True', 'AllMirrored'), cond('Progressing', 'False', 'Idle'), cond('Degraded', 'False', 'AsExpected')] } }),
      server: server(),
      now: NOW,
    },
    expect: { action: 'none' },
    check: (d, t) => {
      for (const type of ['Ready', 'Progressing', 'Degraded']) t.is(condition(d, type)?.lastTransitionTime, '2026-02-01T00:00:00Z');
      t.deepEqual(d.events, []);
    },
  },
  {
    name: 'a condition that flips gets a new lastTransitionTime and an Event',
    input: {
      object: set({ status: { observedGeneration: 1, conditions: [cond('Ready', 'True', 'AllMirrored'), cond('Progressing', 'False', 'Idle'), cond('Degraded', 'False', 'AsExpected')] } }),
      server: server({ ready: 1, failed: 1, failures: [{ source: 'hashicorp/null', version: '3.2.0', platform: 'linux_amd64', message: 'checksum mismatch' }] }),
      now: NOW,
    },
    expect: { action: 'none' },
    check: (d, t) => {
      t.like(condition(d, 'Ready'), { status: 'False', reason: 'ItemsFailed', lastTransitionTime: '2026-03-01T12:00:00Z' });
      t.like(condition(d, 'Degraded'), { status: 'True', reason: 'ItemsFailed', lastTransitionTime: '2026-03-01T12:00:00Z' });
      t.is(condition(d, 'Progressing')?.lastTransitionTime, '2026-02-01T00:00:00Z');
      t.deepEqual(d.status.failures, [{ source: 'hashicorp/null', version: '3.2.0', platform: 'linux_amd64', message: 'checksum mismatch' }]);
      t.like(d.status, { desired: 2, ready: 1, failed: 1 });
      t.deepEqual(d.events.map((e) => `${e.type} ${e.reason}`), ['Warning ItemsFailed', 'Warning ItemsFailed']);
    },
  },
  {
    name: 'a fully mirrored set is Ready with its counts, observedGeneration and lastSyncTime',
    input: { object: set({ generation: 3 }), server: server({ observedGeneration: 3 }), now: NOW },
    expect: { action: 'put' }, // status.observedGeneration is behind
    check: (d, t) => {
      t.like(d.status, { observedGeneration: 3, desired: 2, ready: 2, failed: 0, lastSyncTime: EARLIER });
      t.like(condition(d, 'Ready'), { status: 'True', reason: 'AllMirrored', observedGeneration: 3 });
    },
  },
  {
    name: 'a spec that resolves to nothing is not Ready and is Degraded NothingResolved',
    input: { object: set({ status: settled }), server: server({ desired: 0, ready: 0, problems: ['no version of hashicorp/null matches "~> 9.0"'] }), now: NOW },
    expect: { action: 'none' },
    check: (d, t) => {
      t.like(condition(d, 'Ready'), { status: 'False', reason: 'NothingResolved' });
      t.like(condition(d, 'Degraded'), { status: 'True', reason: 'NothingResolved', message: 'no version of hashicorp/null matches "~> 9.0"' });
    },
  },
  {
    name: 'at most 50 failures are reported',
    input: {
      object: set({ status: settled }),
      server: server({ desired: 60, ready: 0, failed: 60, failures: Array.from({ length: 60 }, (_, i) => ({ source: 'a/b', version: `1.0.${i}`, platform: 'linux_amd64', message: 'boom' })) }),
      now: NOW,
    },
    expect: { action: 'none' },
    check: (d, t) => t.is(d.status.failures?.length, 50),
  },
  {
    name: 'an invalid spec the server refused is Degraded InvalidSpec and not retried',
    input: { object: set(), server: undefined, now: NOW, invalidSpec: 'spec.providers[0].source: bad' },
    expect: { action: 'none', requeueAfterMs: undefined },
    check: (d, t) => {
      t.like(condition(d, 'Degraded'), { status: 'True', reason: 'InvalidSpec', message: 'spec.providers[0].source: bad' });
      t.like(condition(d, 'Ready'), { status: 'False', reason: 'InvalidSpec' });
      t.is(d.status.observedGeneration, 1);
    },
  },
  {
    name: 'an invalid spec already reported for this generation is not PUT again',
    input: { object: set({ status: { observedGeneration: 1, conditions: [cond('Degraded', 'True', 'InvalidSpec')] } }), server: undefined, now: NOW },
    expect: { action: 'none', requeueAfterMs: undefined },
  },
  {
    name: 'an invalid spec edited to a new generation is PUT again',
    input: { object: set({ generation: 2, status: { observedGeneration: 1, conditions: [cond('Degraded', 'True', 'InvalidSpec')] } }), server: undefined, now: NOW },
    expect: { action: 'put' },
  },
  {
    name: 'deletionPolicy Delete without the finalizer adds it first',
    input: { object: set({ deletionPolicy: 'Delete' }), server: undefined, now: NOW },
    expect: { action: 'add-finalizer' },
  },
  {
    name: 'deletionPolicy Retain adds no finalizer',
    input: { object: set({ status: settled }), server: server(), now: NOW },
    expect: { action: 'none' },
  },
  {
    name: 'a deleted object holding the finalizer is purged on the server and released',
    input: { object: set({ deletionPolicy: 'Delete', finalizers: ['other', FINALIZER], deleting: true }), server: server(), now: NOW },
    expect: { action: 'delete-and-unfinalize', purge: true },
  },
  {
    name: 'a deleted object without our finalizer needs nothing',
    input: { object: set({ finalizers: ['other'], deleting: true }), server: server(), now: NOW },
    expect: { action: 'none' },
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    const d = decide(c.input);
    t.like(d, c.expect);
    c.check?.(d, t);
  });
}

test('decide does not modify the object it is given', (t) => {
  const object: MirrorResource = set({ status: settled });
  const before = structuredClone(object);
  decide({ object, server: server({ failed: 1 }), now: NOW });
  t.deepEqual(object, before);
});

for (const [text, ms] of [['1h', 3_600_000], ['30m', 1_800_000], ['6h', 21_600_000], ['1h30m', 5_400_000], ['90s', 90_000], [undefined, 3_600_000], ['soon', 3_600_000]] as const) {
  test(`sync interval ${String(text)} is ${ms} ms`, (t) => t.is(parseDuration(text), ms));
}

test('a set resolved against held versions while its upstream was unreachable is Ready, and its message says so', (t) => {
  const notice = 'hashicorp/null: upstream unreachable; resolved against held versions';
  const d = decide({ object: set({ status: { observedGeneration: 1 } }), server: server({ notices: [notice] }), now: NOW });
  t.like(condition(d, 'Ready'), { status: 'True', reason: 'AllMirrored' });
  t.true(condition(d, 'Ready')!.message.includes(notice));
});

function moduleSet(status?: ModuleSet['status']): ModuleSet {
  return {
    apiVersion: 'tfmirror.dev/v1alpha1',
    kind: 'ModuleSet',
    metadata: { name: 'a', namespace: 'ns', uid: 'uid-a', generation: 1 },
    spec: { modules: [{ source: 'terraform-aws-modules/vpc/aws', versions: ['~> 5.0'] }] },
    ...(status ? { status } : {}),
  };
}

test('a ModuleSet whose versions are all held is Ready, counted as module versions, and is not re-synced', (t) => {
  const d = decide({ object: moduleSet({ observedGeneration: 1 }), server: server(), now: NOW });
  t.like(d, { action: 'none', requeueAfterMs: undefined });
  t.like(condition(d, 'Ready'), { status: 'True', reason: 'AllMirrored', message: 'all 2 module versions mirrored' });
  t.is((d.status as Record<string, unknown>).resolvedVersions, undefined, 'only a ProviderMirror reports resolved versions');
});

test('a ModuleSet with a failed version is Degraded and says which', (t) => {
  const failures = [{ source: 'terraform-aws-modules/vpc/aws', version: '5.1.0', platform: '', message: 'unsupported source scheme "s3::"' }];
  const d = decide({ object: moduleSet({ observedGeneration: 1 }), server: server({ ready: 1, failed: 1, failures }), now: NOW });
  t.like(condition(d, 'Ready'), { status: 'False', reason: 'ItemsFailed', message: '1/2 module versions mirrored, 1 failed' });
  t.like(condition(d, 'Degraded'), { status: 'True', message: '1 module versions failed to mirror' });
  t.deepEqual(d.status.failures, [{ source: 'terraform-aws-modules/vpc/aws', version: '5.1.0', message: 'unsupported source scheme "s3::"' }]);
});
