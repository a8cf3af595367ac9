import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { migrate } from '../../server/src/db/database.js';
import { migrations } from '../../server/src/db/migrations.js';
import { ProviderSetRepository } from '../../server/src/db/provider-sets.js';
import { UpstreamCacheRepository } from '../../server/src/db/upstream-cache.js';

/** A database as version 12 left it, with two sets, their items, a job and cached upstream answers. */
function databaseAtVersion12() {
  const db = new BetterSqlite3(':memory:');
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT '')`);
  for (const m of migrations.filter((x) => x.version <= 12)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(m.version, m.name);
  }
  db.exec(`
    INSERT INTO jobs (id, kind, requested_by, spec, created_at, status) VALUES (7, 'load', 'operator', '{}', 0, 'succeeded');
    INSERT INTO provider_sets (id, namespace, name, uid, kind, generation, spec, last_job_id, problems, synced_at, created_at, updated_at) VALUES
      (3, 'team-a', 'core', 'u1', 'ProviderSet', 2, '{"providers":[]}', 7, '["p"]', 11, 1, 2),
      (9, 'team-b', 'aws', 'u2', 'ProviderMirror', 1, '{}', NULL, '[]', NULL, 3, 4);
    INSERT INTO provider_set_items (set_id, source, version, platform) VALUES
      (3, 'registry.terraform.io/hashicorp/aws', '5.31.0', 'linux_amd64'),
      (9, 'registry.terraform.io/hashicorp/aws', '5.40.0', 'darwin_arm64');
    INSERT INTO upstream_cache (hostname, kind, key, body, shasums, signature, fetched_at) VALUES
      ('registry.terraform.io', 'versions', 'hashicorp/aws', '{"versions":[]}', NULL, NULL, 5),
      ('registry.terraform.io', 'release', 'hashicorp/aws/5.31.0', '{}', X'0102', X'03', 6);
  `);
  return db;
}

function indexes(db: BetterSqlite3.Database, table: string): string[] {
  return db
    .prepare<[string], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name`)
    .all(table)
    .map((r) => r.name);
}

test('migration 13 keeps provider sets, their ids, items and indexes while widening the kind to ModuleSet', (t) => {
  const db = databaseAtVersion12();
  t.teardown(() => db.close());
  const before = db.prepare('SELECT * FROM provider_sets ORDER BY id').all();
  const itemsBefore = db.prepare('SELECT * FROM provider_set_items ORDER BY set_id').all();
  migrate(db);
  t.deepEqual(db.prepare('SELECT * FROM provider_sets ORDER BY id').all(), before);
  t.deepEqual(db.prepare('SELECT * FROM provider_set_items ORDER BY set_id').all(), itemsBefore);
  t.deepEqual(indexes(db, 'provider_set_items'), ['provider_set_items_package']);
  t.deepEqual(db.pragma('foreign_key_check'), []);
  // The items still belong to their sets: deleting a set cascades, as before.
  db.prepare('DELETE FROM provider_sets WHERE id = 9').run();
  t.deepEqual(db.prepare('SELECT set_id FROM provider_set_items').all(), [{ set_id: 3 }]);
  // Jobs still null out the set's last job when deleted.
  db.prepare('DELETE FROM jobs WHERE id = 7').run();
  t.is(db.prepare<[], { j: number | null }>('SELECT last_job_id AS j FROM provider_sets WHERE id = 3').get()!.j, null);
});

test('after migration 13 a ModuleSet record is storable and other kinds are still refused', (t) => {
  const db = databaseAtVersion12();
  t.teardown(() => db.close());
  migrate(db);
  const insert = db.prepare(
    `INSERT INTO provider_sets (namespace, name, uid, kind, generation, spec, created_at, updated_at) VALUES ('team-a', 'core', 'u3', ?, 1, '{}', 0, 0)`,
  );
  t.notThrows(() => insert.run('ModuleSet'), 'same namespace and name as the ProviderSet: the kind is part of the key');
  t.throws(() => insert.run('ModuleMirror'), { any: true, code: 'SQLITE_CONSTRAINT_CHECK' });
  const sets = new ProviderSetRepository(db);
  t.like(sets.find({ kind: 'ModuleSet', namespace: 'team-a', name: 'core' }), { uid: 'u3' });
  t.like(sets.find({ kind: 'ProviderSet', namespace: 'team-a', name: 'core' }), { id: 3, uid: 'u1' });
});

test('migration 13 keeps cached upstream answers and accepts the module-versions kind', (t) => {
  const db = databaseAtVersion12();
  t.teardown(() => db.close());
  migrate(db);
  const cache = new UpstreamCacheRepository(db);
  t.like(cache.get('registry.terraform.io', 'versions', 'hashicorp/aws'), { body: '{"versions":[]}', fetchedAt: 5 });
  t.deepEqual(cache.get('registry.terraform.io', 'release', 'hashicorp/aws/5.31.0')?.shasums, Buffer.from([1, 2]));
  cache.put({ hostname: 'registry.terraform.io', kind: 'module-versions', key: 'terraform-aws-modules/vpc/aws', body: '["5.0.0"]', shasums: null, signature: null, fetchedAt: 9 });
  t.is(cache.get('registry.terraform.io', 'module-versions', 'terraform-aws-modules/vpc/aws')?.body, '["5.0.0"]');
  t.throws(() => db.prepare(`INSERT INTO upstream_cache (hostname, kind, key, body, fetched_at) VALUES ('h', 'other', 'k', '', 0)`).run(), {
    any: true,
    code: 'SQLITE_CONSTRAINT_CHECK',
  });
});

test('migration 13 creates the module tables, and a second run applies nothing', (t) => {
  const db = databaseAtVersion12();
  t.teardown(() => db.close());
  t.is(migrate(db), 1);
  t.is(migrate(db), 0);
  t.deepEqual(indexes(db, 'module_versions'), ['module_versions_archive_key']);
  t.deepEqual(indexes(db, 'module_holders'), ['module_holders_set']);
  t.deepEqual(indexes(db, 'modules'), []);
});
