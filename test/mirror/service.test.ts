import test from 'ava';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository } from '../../server/src/db/providers.js';
import { MirrorService } from '../../server/src/mirror/service.js';

const id = { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' };
const pkg = (version: string, sha: string) => ({
  provider: id,
  version,
  origin: 'imported' as const,
  os: 'linux',
  arch: 'amd64',
  filename: `terraform-provider-null_${version}_linux_amd64.zip`,
  size: 10,
  sha256: sha.repeat(64),
  h1: 'h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  objectKey: `k/${version}`,
});

/** Counts every repository call the service makes. */
function countingRepository(repo: ProviderRepository) {
  const calls = { n: 0 };
  const proxy = new Proxy(repo, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.n++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { proxy, calls };
}

test('a warm index.json makes no database call', async (t) => {
  const db = openDatabase(':memory:');
  const repo = new ProviderRepository(db);
  repo.recordPackage(pkg('1.0.0', 'a'));
  const { proxy, calls } = countingRepository(repo);
  const mirror = new MirrorService(db, proxy);
  const first = await mirror.index(id);
  const cold = calls.n;
  t.true(cold > 0);
  for (let i = 0; i < 100; i++) t.is(await mirror.index(id), first);
  t.is(calls.n, cold);
  t.is(mirror.hits, 100);
});

test('invalidate() drops cached documents, including cached misses', async (t) => {
  const db = openDatabase(':memory:');
  const repo = new ProviderRepository(db);
  const mirror = new MirrorService(db, repo);
  await t.throwsAsync(mirror.index(id), { message: /not in this mirror/ });
  repo.recordPackage(pkg('1.0.0', 'a'));
  await t.throwsAsync(mirror.index(id), undefined, 'the miss is cached');
  mirror.invalidate();
  const doc = await mirror.index(id);
  t.deepEqual(JSON.parse(doc.body.toString()), { versions: { '1.0.0': {} } });
});

test('a blocked provider is absent from index.json', async (t) => {
  const db = openDatabase(':memory:');
  const repo = new ProviderRepository(db);
  repo.recordPackage(pkg('1.0.0', 'a'));
  db.prepare(`UPDATE providers SET status = 'blocked'`).run();
  const mirror = new MirrorService(db, repo);
  await t.throwsAsync(mirror.index(id), { message: /not in this mirror/ });
});

test('recording different bytes under a held version and platform is refused', (t) => {
  const db = openDatabase(':memory:');
  const repo = new ProviderRepository(db);
  t.is(repo.recordPackage(pkg('1.0.0', 'a')), 'created');
  t.is(repo.recordPackage(pkg('1.0.0', 'a')), 'unchanged');
  t.throws(() => repo.recordPackage(pkg('1.0.0', 'b')), { message: /immutable/ });
});
