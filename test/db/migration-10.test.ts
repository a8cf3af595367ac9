import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { migrate } from '../../server/src/db/database.js';
import { migrations } from '../../server/src/db/migrations.js';

test('migration 10 adds first_download_at and gives packages downloaded before it their last download', (t) => {
  const db = new BetterSqlite3(':memory:');
  t.teardown(() => db.close());
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT '')`);
  for (const m of migrations.filter((x) => x.version < 10)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(m.version, m.name);
  }
  db.exec(`
    INSERT INTO providers (id, hostname, namespace, type) VALUES (1, 'registry.terraform.io', 'hashicorp', 'null');
    INSERT INTO provider_versions (id, provider_id, version, origin) VALUES (1, 1, '3.2.1', 'imported');
    INSERT INTO provider_packages (id, version_id, os, arch, filename, size, sha256, h1, object_key, download_count, last_download_at) VALUES
      (1, 1, 'linux', 'amd64', 'a.zip', 1, 'x', 'h1:x', 'k/a', 4, '2025-06-01T00:00:00.000Z'),
      (2, 1, 'darwin', 'arm64', 'b.zip', 1, 'y', 'h1:y', 'k/b', 0, NULL);
  `);
  migrate(db);
  t.deepEqual(db.prepare('SELECT id, first_download_at AS first FROM provider_packages ORDER BY id').all(), [
    { id: 1, first: '2025-06-01T00:00:00.000Z' },
    { id: 2, first: null },
  ]);
});
