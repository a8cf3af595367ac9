/**
 * Numbered schema migrations. Append only: a migration that has shipped is
 * never edited, a change is a new entry.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const now = `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'providers',
    sql: `
      CREATE TABLE providers (
        id         INTEGER PRIMARY KEY,
        hostname   TEXT NOT NULL,
        namespace  TEXT NOT NULL,
        type       TEXT NOT NULL,
        status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deprecated', 'blocked')),
        created_at TEXT NOT NULL DEFAULT ${now},
        updated_at TEXT NOT NULL DEFAULT ${now},
        UNIQUE (hostname, namespace, type)
      );

      CREATE TABLE provider_versions (
        id             INTEGER PRIMARY KEY,
        provider_id    INTEGER NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
        version        TEXT NOT NULL,
        protocols      TEXT NOT NULL DEFAULT '[]',   -- JSON array of "5.0"-style strings
        shasums_key    TEXT,                         -- object key of the upstream SHA256SUMS
        signature_key  TEXT,                         -- object key of SHA256SUMS.sig
        key_ids        TEXT NOT NULL DEFAULT '[]',   -- JSON array of GPG key ids that signed
        origin         TEXT NOT NULL CHECK (origin IN ('loaded', 'pulled', 'imported')),
        created_at     TEXT NOT NULL DEFAULT ${now},
        UNIQUE (provider_id, version)
      );

      CREATE TABLE provider_packages (
        id               INTEGER PRIMARY KEY,
        version_id       INTEGER NOT NULL REFERENCES provider_versions (id) ON DELETE CASCADE,
        os               TEXT NOT NULL,
        arch             TEXT NOT NULL,
        filename         TEXT NOT NULL,
        size             INTEGER NOT NULL,
        sha256           TEXT NOT NULL,              -- hex; the zh: hash and the SHA256SUMS entry
        h1               TEXT NOT NULL,              -- "h1:..." as Terraform computes it
        object_key       TEXT NOT NULL,
        download_count   INTEGER NOT NULL DEFAULT 0,
        last_download_at TEXT,
        created_at       TEXT NOT NULL DEFAULT ${now},
        UNIQUE (version_id, os, arch),
        UNIQUE (version_id, filename)
      );
      CREATE INDEX provider_packages_object_key ON provider_packages (object_key);
    `,
  },
];
