import test from 'ava';
import { IntegrityError } from '../../server/src/errors.js';
import { PLATFORM, VERSION, eventually, provider, pullSetup, receive } from './archive-setup.js';

/** About 2 MiB in 64 KiB chunks 10 ms apart: a download that lasts ~0.3 s, so callers overlap it. */
const SLOW_ARCHIVE = { fault: { kind: 'slowBody', chunkBytes: 64 * 1024, delayMs: 10 }, path: /\.zip$/ } as const;
const HOLD_BACK = 64 * 1024;

test('32 concurrent pulls of one archive make one upstream download and get 32 identical, correct bodies', async (t) => {
  const s = await pullSetup(t);
  s.registry.fault(SLOW_ARCHIVE);
  const { puller, repos, stagedFiles, published } = s.puller();
  const pulls = await Promise.all(Array.from({ length: 32 }, () => puller.pull(provider, s.release, PLATFORM)));
  const bodies = await Promise.all(pulls.map((p) => receive(p.body)));

  t.is(s.downloads(), 1);
  t.deepEqual(
    pulls.map((p) => p.via).sort(),
    ['started', ...Array<string>(31).fill('joined')].sort(),
  );
  for (const b of bodies) t.deepEqual(b, { sha256: s.expected.sha256, size: s.expected.size });
  const held = repos.providers.findPackage(provider, VERSION, 'linux', 'amd64');
  t.is(held?.sha256, s.expected.sha256, 'published');
  t.regex(held?.h1 ?? '', /^h1:/);
  t.deepEqual(repos.providers.holdersOf(held!.id), [{ kind: 'pulled' }]);
  t.deepEqual(stagedFiles(), [], 'staging is left empty');
  t.deepEqual(published, [`registry.terraform.io/hashicorp/big ${VERSION}`], 'published once, for cache invalidation');
  const stored: string[] = [];
  for await (const o of s.store.list(`providers/registry.terraform.io/hashicorp/big/${VERSION}/`)) stored.push(o.key.split('/').pop()!);
  t.deepEqual(
    stored.sort(),
    ['signing-keys.json', `terraform-provider-big_${VERSION}_SHA256SUMS`, `terraform-provider-big_${VERSION}_SHA256SUMS.sig`, `terraform-provider-big_${VERSION}_${PLATFORM}.zip`],
    'the signed evidence is kept next to the package',
  );
  t.like(puller.stats(), { downloads: 1, joined: 31, bytesFetched: s.expected.size, integrityFailures: 0, inFlight: 0 });
});

test('a caller joining after half the bytes arrived gets the whole body', async (t) => {
  const s = await pullSetup(t);
  // Slower than the others (~1 s), so the second half is surely still coming when the caller joins.
  s.registry.fault({ fault: { kind: 'slowBody', chunkBytes: 64 * 1024, delayMs: 30 }, path: /\.zip$/ });
  const { puller } = s.puller();
  const first = await puller.pull(provider, s.release, PLATFORM);
  const firstBody = receive(first.body);
  await eventually(() => puller.stats().bytesFetched >= s.expected.size / 2, 10_000, 'half the bytes');
  const joined = await puller.pull(provider, s.release, PLATFORM);
  t.is(joined.via, 'joined');
  const [a, b] = await Promise.all([firstBody, receive(joined.body)]);
  t.deepEqual(a, { sha256: s.expected.sha256, size: s.expected.size });
  t.deepEqual(b, { sha256: s.expected.sha256, size: s.expected.size });
  t.is(s.downloads(), 1);
});

test('a tampered archive cuts every reader before its last bytes, and nothing is stored', async (t) => {
  const s = await pullSetup(t);
  s.registry.fault({ fault: { kind: 'shaMismatch' }, path: /\.zip$/ });
  s.registry.fault(SLOW_ARCHIVE);
  const { puller, repos, stagedFiles } = s.puller();
  const pulls = await Promise.all(Array.from({ length: 4 }, () => puller.pull(provider, s.release, PLATFORM)));
  const bodies = await Promise.all(pulls.map((p) => receive(p.body)));
  for (const b of bodies) {
    t.true(b.error instanceof IntegrityError, String(b.error));
    t.regex(b.error?.message ?? '', /checksum mismatch .*SHA256SUMS/);
    t.true(b.size <= s.expected.size - HOLD_BACK, `received ${b.size} of ${s.expected.size} bytes`);
  }
  t.is(repos.providers.findPackage(provider, VERSION, 'linux', 'amd64'), undefined);
  const stored: string[] = [];
  for await (const o of s.store.list('providers/')) stored.push(o.key);
  t.deepEqual(stored, [], 'no package, no evidence');
  t.deepEqual(stagedFiles(), []);
  t.is(puller.stats().integrityFailures, 1);
  t.is(repos.pullLeases.find(`registry.terraform.io/hashicorp/big/${VERSION}/${PLATFORM}`), undefined, 'lease released');
});

test('an archive cut by the upstream cuts every reader and stores nothing', async (t) => {
  const s = await pullSetup(t);
  s.registry.fault({ fault: { kind: 'truncated' }, path: /\.zip$/ });
  const { puller, repos, stagedFiles } = s.puller();
  const pulls = await Promise.all(Array.from({ length: 3 }, () => puller.pull(provider, s.release, PLATFORM)));
  const bodies = await Promise.all(pulls.map((p) => receive(p.body)));
  for (const b of bodies) {
    t.truthy(b.error);
    t.true(b.size < s.expected.size);
  }
  t.is(repos.providers.findPackage(provider, VERSION, 'linux', 'amd64'), undefined);
  t.deepEqual(stagedFiles(), []);
});

test('a caller that goes away detaches only itself: the others get the whole body and the package is published', async (t) => {
  const s = await pullSetup(t);
  s.registry.fault(SLOW_ARCHIVE);
  const { puller, repos } = s.puller();
  // One gives up while the download is still starting, one after its first bytes.
  const impatient = new AbortController();
  const waiting = puller.pull(provider, s.release, PLATFORM, impatient.signal);
  impatient.abort();
  await t.throwsAsync(waiting, { name: 'AbortError' });
  const [quitter, ...others] = await Promise.all(Array.from({ length: 3 }, () => puller.pull(provider, s.release, PLATFORM)));
  const quit = new Promise<void>((resolve) => {
    quitter!.body.once('data', () => {
      quitter!.body.destroy();
      resolve();
    });
  });
  const bodies = await Promise.all(others.map((p) => receive(p.body)));
  await quit;
  for (const b of bodies) t.deepEqual(b, { sha256: s.expected.sha256, size: s.expected.size });
  t.is(s.downloads(), 1);
  t.truthy(repos.providers.findPackage(provider, VERSION, 'linux', 'amd64'));
});

test('a caller that stops reading holds back neither the others nor the download', async (t) => {
  const s = await pullSetup(t);
  s.registry.fault(SLOW_ARCHIVE);
  const { puller, repos, stagedFiles } = s.puller();
  const [stalled, ...others] = await Promise.all(Array.from({ length: 3 }, () => puller.pull(provider, s.release, PLATFORM)));
  stalled!.body.pause();
  const bodies = await Promise.all(others.map((p) => receive(p.body)));
  for (const b of bodies) t.deepEqual(b, { sha256: s.expected.sha256, size: s.expected.size });
  await eventually(() => puller.stats().inFlight === 0, 10_000, 'the pull to finish');
  t.truthy(repos.providers.findPackage(provider, VERSION, 'linux', 'amd64'), 'published');
  t.deepEqual(stagedFiles(), [], 'the staging name is gone while the slow reader still reads');
  // It still gets everything, at its own pace, from the open staging file.
  const late = await receive(stalled!.body);
  t.deepEqual(late, { sha256: s.expected.sha256, size: s.expected.size });
});

test('an already-held package is served from the store with no upstream request', async (t) => {
  const s = await pullSetup(t, 256 * 1024);
  const { puller } = s.puller();
  const first = await puller.pull(provider, s.release, PLATFORM);
  await receive(first.body);
  s.registry.resetCounters();
  const again = await puller.pull(provider, s.release, PLATFORM);
  t.is(again.via, 'store');
  t.is(again.size, s.expected.size);
  t.deepEqual(await receive(again.body), { sha256: s.expected.sha256, size: s.expected.size });
  t.is(s.registry.requests(), 0);
});

test('a platform the release does not have is NotFound without an upstream request', async (t) => {
  const s = await pullSetup(t, 4096);
  const { puller } = s.puller();
  await t.throwsAsync(puller.pull(provider, s.release, 'windows_arm64'), { name: 'NotFound', message: /no package for windows_arm64/ });
  t.is(s.registry.requests(), 0);
});

test('a package vouched for by h1 alone (a network mirror) is checked before any caller completes: a wrong h1 cuts them all and stores nothing', async (t) => {
  const s = await pullSetup(t, 512 * 1024);
  const archive = s.release.archives[PLATFORM]!;
  const release = { ...s.release, signed: false, signature: undefined, archives: { [PLATFORM]: { ...archive, sha256: '', h1: ['h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='] } } };
  const { puller, repos, stagedFiles } = s.puller();
  const pulls = await Promise.all(Array.from({ length: 3 }, () => puller.pull(provider, release, PLATFORM)));
  const bodies = await Promise.all(pulls.map((p) => receive(p.body)));
  for (const b of bodies) {
    t.true(b.error instanceof IntegrityError, String(b.error));
    t.regex(b.error?.message ?? '', /h1 checksum mismatch/);
    t.true(b.size <= s.expected.size - HOLD_BACK);
  }
  t.is(repos.providers.findPackage(provider, VERSION, 'linux', 'amd64'), undefined);
  const stored: string[] = [];
  for await (const o of s.store.list('providers/')) stored.push(o.key);
  t.deepEqual(stored, []);
  t.deepEqual(stagedFiles(), []);
});

test('a download whose every caller went away still finishes and publishes, so the next caller is served from the store', async (t) => {
  const s = await pullSetup(t);
  s.registry.fault(SLOW_ARCHIVE);
  const { puller, repos } = s.puller();
  const only = await puller.pull(provider, s.release, PLATFORM);
  only.body.destroy();
  await eventually(() => puller.stats().inFlight === 0, 10_000, 'the pull to finish');
  t.truthy(repos.providers.findPackage(provider, VERSION, 'linux', 'amd64'));
  const next = await puller.pull(provider, s.release, PLATFORM);
  t.is(next.via, 'store');
  t.deepEqual(await receive(next.body), { sha256: s.expected.sha256, size: s.expected.size });
  t.is(s.downloads(), 1);
});
