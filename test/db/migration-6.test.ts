import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { migrate } from '../../server/src/db/database.js';
import { migrations } from '../../server/src/db/migrations.js';
import { ProviderRepository } from '../../server/src/db/providers.js';
import { ProviderSetRepository } from '../../server/src/db/provider-sets.js';

/** A database as version 5 left it, with a set's load, an admin load and an import recorded. */
function databaseAtVersion5() {
  const db = new BetterSqlite3(':memory:');
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT '')`);
  for (const m of migrations.filter((x) => x.version <= 5)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(m.version, m.name);
  }
  db.exec(`
    INSERT INTO providers (id, hostname, namespace, type) VALUES (1, 'registry.terraform.io', 'hashicorp', 'aws');
    INSERT INTO provider_versions (id, provider_id, version, origin) VALUES (1, 1, '5.31.0', 'loaded'), (2, 1, '5.30.0', 'imported');
    INSERT INTO provider_packages (id, version_id, os, arch, filename, size, sha256, h1, object_key) VALUES
      (1, 1, 'linux', 'amd64', 'a.zip', 1, 'x', 'h1:x', 'k/a'),   -- loaded by the set's job only
      (2, 1, 'darwin', 'arm64', 'b.zip', 1, 'y', 'h1:y', 'k/b'),  -- loaded by the set's job and by an admin load
      (3, 2, 'linux', 'amd64', 'c.zip', 1, 'z', 'h1:z', 'k/c');   -- imported, also wanted by the set
    INSERT INTO jobs (id, kind, requested_by, spec, created_at, status) VALUES
      (1, 'load', 'operator:team-a/core', '{"via":"provider-set","kind":"ProviderSet","namespace":"team-a","name":"core"}', 0, 'succeeded'),
      (2, 'load', 'admin', '{"via":"api"}', 0, 'succeeded');
    INSERT INTO job_items (job_id, source, version, platform, status, max_attempts, next_attempt_at) VALUES
      (1, 'registry.terraform.io/hashicorp/aws', '5.31.0', 'linux_amd64', 'succeeded', 1, 0),
      (1, 'registry.terraform.io/hashicorp/aws', '5.31.0', 'darwin_arm64', 'succeeded', 1, 0),
      (2, 'registry.terraform.io/hashicorp/aws', '5.31.0', 'darwin_arm64', 'skipped', 1, 0);
    INSERT INTO provider_sets (id, namespace, name, uid, kind, generation, spec, last_job_id, created_at, updated_at)
      VALUES (1, 'team-a', 'core', 'u1', 'ProviderSet', 1, '{}', 1, 0, 0);
    INSERT INTO provider_set_items (set_id, source, version, platform) VALUES
      (1, 'registry.terraform.io/hashicorp/aws', '5.31.0', 'linux_amd64'),
      (1, 'registry.terraform.io/hashicorp/aws', '5.31.0', 'darwin_arm64'),
      (1, 'registry.terraform.io/hashicorp/aws', '5.30.0', 'linux_amd64');
  `);
  return db;
}

const core = { kind: 'set', set: { kind: 'ProviderSet', namespace: 'team-a', name: 'core' } };

test('migration 6 backfills holders from origins, sets and the jobs that loaded them', (t) => {
  const db = databaseAtVersion5();
  t.teardown(() => db.close());
  migrate(db);
  const providers = new ProviderRepository(db);
  t.deepEqual(providers.holdersOf(1), [core], "only the set's job loaded it");
  t.deepEqual(providers.holdersOf(2), [{ kind: 'loaded' }, core], 'an admin load asked for it too');
  t.deepEqual(providers.holdersOf(3), [{ kind: 'imported' }, core]);
  t.is(db.prepare<[], { holder: string }>('SELECT holder FROM jobs WHERE id = 1').get()!.holder, 'set:ProviderSet/team-a/core');
  t.is(db.prepare<[], { holder: string }>('SELECT holder FROM jobs WHERE id = 2').get()!.holder, 'loaded');
});

test('migration 6 keeps provider sets and their items, now keyed by kind', (t) => {
  const db = databaseAtVersion5();
  t.teardown(() => db.close());
  migrate(db);
  const sets = new ProviderSetRepository(db);
  const row = sets.get({ kind: 'ProviderSet', namespace: 'team-a', name: 'core' });
  t.like(row, { id: 1, uid: 'u1', lastJobId: 1 });
  t.is(sets.desiredItems(row.id).length, 3);
  t.is(sets.find({ kind: 'ProviderMirror', namespace: 'team-a', name: 'core' }), undefined);
  t.deepEqual(db.pragma('foreign_key_check'), []);
  // The purge after migration removes only what the set alone held.
  const purged = sets.purge({ kind: 'ProviderSet', namespace: 'team-a', name: 'core' })!;
  t.is(purged.packages, 1);
  t.deepEqual(purged.objectKeys, ['k/a']);
  t.deepEqual(db.prepare('SELECT id FROM provider_packages ORDER BY id').all(), [{ id: 2 }, { id: 3 }]);
});
