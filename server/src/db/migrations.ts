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
  {
    version: 2,
    name: 'jobs',
    // Job timestamps are INTEGER milliseconds since the epoch from the caller's
    // clock: the queue compares them (leases, backoff), and tests inject time.
    // kind has no CHECK so later job kinds need no table rebuild.
    sql: `
      CREATE TABLE jobs (
        id           INTEGER PRIMARY KEY,
        kind         TEXT NOT NULL,
        status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
        requested_by TEXT NOT NULL,
        spec         TEXT NOT NULL DEFAULT '{}',   -- JSON: what was asked, as asked
        created_at   INTEGER NOT NULL,
        started_at   INTEGER,
        finished_at  INTEGER
      );
      CREATE INDEX jobs_status ON jobs (status, id);

      CREATE TABLE job_items (
        id               INTEGER PRIMARY KEY,
        job_id           INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        source           TEXT NOT NULL,            -- hostname/namespace/type
        version          TEXT NOT NULL,
        platform         TEXT NOT NULL,            -- os_arch
        status           TEXT NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'skipped')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
        next_attempt_at  INTEGER NOT NULL,
        lease_owner      TEXT,
        lease_expires_at INTEGER,
        error            TEXT,
        bytes_done       INTEGER NOT NULL DEFAULT 0,
        bytes_total      INTEGER NOT NULL DEFAULT 0,  -- 0 while unknown
        started_at       INTEGER,
        finished_at      INTEGER,
        UNIQUE (job_id, source, version, platform)
      );
      CREATE INDEX job_items_claim ON job_items (status, next_attempt_at);
    `,
  },
  {
    version: 3,
    name: 'auth',
    // Times are INTEGER epoch milliseconds, like the job tables.
    sql: `
      CREATE TABLE users (
        id              INTEGER PRIMARY KEY,
        username        TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash   TEXT NOT NULL,               -- bcrypt
        role            TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'operator', 'viewer')),
        disabled        INTEGER NOT NULL DEFAULT 0,
        created_at      INTEGER NOT NULL,
        last_login_at   INTEGER,
        last_login_ip   TEXT,
        last_login_agent TEXT
      );

      -- A login is a session row; the JWT's jti names it, so revoking the row
      -- revokes the token on its next use.
      CREATE TABLE sessions (
        id           TEXT PRIMARY KEY,               -- the JWT jti (random)
        user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        revoked_at   INTEGER,
        ip           TEXT,
        user_agent   TEXT,
        last_seen_at INTEGER
      );
      CREATE INDEX sessions_user ON sessions (user_id, created_at);

      CREATE TABLE api_tokens (
        id           INTEGER PRIMARY KEY,
        name         TEXT NOT NULL,
        token_hash   TEXT NOT NULL UNIQUE,           -- sha256 of the secret; the secret is shown once
        prefix       TEXT NOT NULL,                  -- first characters, to recognise a token in lists
        role         TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
        created_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER,
        last_used_at INTEGER,
        revoked_at   INTEGER
      );

      -- Failed logins, for throttling by username and by client address.
      CREATE TABLE login_failures (
        id         INTEGER PRIMARY KEY,
        username   TEXT NOT NULL COLLATE NOCASE,
        ip         TEXT NOT NULL,
        at         INTEGER NOT NULL
      );
      CREATE INDEX login_failures_username ON login_failures (username, at);
      CREATE INDEX login_failures_ip ON login_failures (ip, at);

      -- Settings the server generates once and keeps (e.g. the JWT secret).
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'audit_log',
    sql: `
      CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        actor       TEXT NOT NULL,                   -- "user:alice", "token:ci (7)", "operator-token", "anonymous"
        action      TEXT NOT NULL,                   -- "auth.login", "provider.update", ...
        resource    TEXT,                            -- "provider:12", "job:3", ...
        outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
        ip          TEXT,
        user_agent  TEXT,
        request_id  TEXT,
        details     TEXT                             -- JSON, never secrets
      );
      CREATE INDEX audit_log_at ON audit_log (at);
      CREATE INDEX audit_log_actor ON audit_log (actor, at);
      CREATE INDEX audit_log_action ON audit_log (action, at);
    `,
  },
  {
    version: 5,
    name: 'provider_sets',
    // What the Kubernetes operator asks the mirror to hold, one row per custom resource.
    // Times are INTEGER epoch milliseconds, like the job tables.
    sql: `
      CREATE TABLE provider_sets (
        id          INTEGER PRIMARY KEY,
        namespace   TEXT NOT NULL,                   -- Kubernetes namespace of the custom resource
        name        TEXT NOT NULL,
        uid         TEXT NOT NULL,                   -- metadata.uid: a new uid is a recreated object
        kind        TEXT NOT NULL CHECK (kind IN ('ProviderSet', 'ProviderMirror')),
        generation  INTEGER NOT NULL,                -- metadata.generation last planned
        spec        TEXT NOT NULL,                   -- JSON, as sent
        last_job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
        problems    TEXT NOT NULL DEFAULT '[]',      -- JSON array of planning problems
        synced_at   INTEGER,                         -- last planning against the upstream
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        UNIQUE (namespace, name)
      );

      -- The desired items of the last planning: the reference counts that purging respects.
      CREATE TABLE provider_set_items (
        set_id   INTEGER NOT NULL REFERENCES provider_sets (id) ON DELETE CASCADE,
        source   TEXT NOT NULL,                      -- hostname/namespace/type
        version  TEXT NOT NULL,
        platform TEXT NOT NULL,                      -- os_arch
        UNIQUE (set_id, source, version, platform)
      );
      CREATE INDEX provider_set_items_package ON provider_set_items (source, version, platform);
    `,
  },
  {
    version: 6,
    name: 'package_holders',
    // Who brought or holds each package, so a purge removes only what nothing else holds;
    // provider sets keyed by kind too (a ProviderSet and a ProviderMirror may share a name).
    sql: `
      -- SQLite cannot drop a UNIQUE constraint: rebuild both tables, items first so no
      -- foreign key ever points at a dropped table (RENAME rewrites the references).
      CREATE TABLE provider_sets_v6 (
        id          INTEGER PRIMARY KEY,
        namespace   TEXT NOT NULL,
        name        TEXT NOT NULL,
        uid         TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('ProviderSet', 'ProviderMirror')),
        generation  INTEGER NOT NULL,
        spec        TEXT NOT NULL,
        last_job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
        problems    TEXT NOT NULL DEFAULT '[]',
        synced_at   INTEGER,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        UNIQUE (kind, namespace, name)
      );
      INSERT INTO provider_sets_v6 (id, namespace, name, uid, kind, generation, spec, last_job_id, problems, synced_at, created_at, updated_at)
        SELECT id, namespace, name, uid, kind, generation, spec, last_job_id, problems, synced_at, created_at, updated_at FROM provider_sets;
      CREATE TABLE provider_set_items_v6 (
        set_id   INTEGER NOT NULL REFERENCES provider_sets_v6 (id) ON DELETE CASCADE,
        source   TEXT NOT NULL,
        version  TEXT NOT NULL,
        platform TEXT NOT NULL,
        UNIQUE (set_id, source, version, platform)
      );
      INSERT INTO provider_set_items_v6 (set_id, source, version, platform) SELECT set_id, source, version, platform FROM provider_set_items;
      DROP TABLE provider_set_items;
      DROP TABLE provider_sets;
      ALTER TABLE provider_sets_v6 RENAME TO provider_sets;
      ALTER TABLE provider_set_items_v6 RENAME TO provider_set_items;
      CREATE INDEX provider_set_items_package ON provider_set_items (source, version, platform);

      -- Whose job it is: "loaded" (admin API, tfmirror load) or "set:{kind}/{namespace}/{name}".
      ALTER TABLE jobs ADD COLUMN holder TEXT NOT NULL DEFAULT 'loaded';
      UPDATE jobs SET holder = 'set:' || json_extract(spec, '$.kind') || '/' || json_extract(spec, '$.namespace') || '/' || json_extract(spec, '$.name')
        WHERE json_valid(spec) AND json_extract(spec, '$.via') = 'provider-set' AND json_extract(spec, '$.kind') IS NOT NULL
          AND json_extract(spec, '$.namespace') IS NOT NULL AND json_extract(spec, '$.name') IS NOT NULL;

      -- Non-set holders use '' for the set columns, so the UNIQUE key sees them as equal.
      CREATE TABLE package_holders (
        package_id    INTEGER NOT NULL REFERENCES provider_packages (id) ON DELETE CASCADE,
        holder_kind   TEXT NOT NULL CHECK (holder_kind IN ('imported', 'loaded', 'pulled', 'set')),
        set_kind      TEXT NOT NULL DEFAULT '',
        set_namespace TEXT NOT NULL DEFAULT '',
        set_name      TEXT NOT NULL DEFAULT '',
        created_at    TEXT NOT NULL DEFAULT ${now},
        UNIQUE (package_id, holder_kind, set_kind, set_namespace, set_name),
        CHECK ((holder_kind = 'set') = (set_kind <> ''))
      );
      CREATE INDEX package_holders_set ON package_holders (set_kind, set_namespace, set_name, package_id);

      -- Backfill. Sets hold what they desire and the mirror has.
      INSERT OR IGNORE INTO package_holders (package_id, holder_kind, set_kind, set_namespace, set_name)
        SELECT pk.id, 'set', s.kind, s.namespace, s.name
          FROM provider_set_items i JOIN provider_sets s ON s.id = i.set_id
          JOIN providers p ON p.hostname || '/' || p.namespace || '/' || p.type = i.source
          JOIN provider_versions pv ON pv.provider_id = p.id AND pv.version = i.version
          JOIN provider_packages pk ON pk.version_id = pv.id AND pk.os || '_' || pk.arch = i.platform;
      -- The version's origin holds it too, except a "loaded" one that only sets' jobs ever
      -- loaded (sets' loads were recorded as "loaded" before holders existed).
      INSERT OR IGNORE INTO package_holders (package_id, holder_kind)
        SELECT pk.id, pv.origin
          FROM provider_packages pk JOIN provider_versions pv ON pv.id = pk.version_id JOIN providers p ON p.id = pv.provider_id
         WHERE pv.origin <> 'loaded'
            OR NOT EXISTS (SELECT 1 FROM package_holders h WHERE h.package_id = pk.id AND h.holder_kind = 'set')
            OR EXISTS (SELECT 1 FROM job_items ji JOIN jobs j ON j.id = ji.job_id
                        WHERE j.holder = 'loaded' AND ji.status IN ('succeeded', 'skipped')
                          AND ji.source = p.hostname || '/' || p.namespace || '/' || p.type
                          AND ji.version = pv.version AND ji.platform = pk.os || '_' || pk.arch);

      -- Cleanups ask whether any row names an object key.
      CREATE INDEX provider_versions_shasums_key ON provider_versions (shasums_key);
      CREATE INDEX provider_versions_signature_key ON provider_versions (signature_key);
    `,
  },
  {
    version: 7,
    name: 'auth_hardening',
    sql: `
      -- Refused sign-ins are counted into one audit row per (username, address, window)
      -- instead of one row each: aggregate_key names the bucket, count how many, last_at the latest.
      ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE audit_log ADD COLUMN last_at INTEGER;
      ALTER TABLE audit_log ADD COLUMN aggregate_key TEXT;
      CREATE UNIQUE INDEX audit_log_aggregate ON audit_log (aggregate_key) WHERE aggregate_key IS NOT NULL;

      -- The login throttle counts failures per (username, address) first.
      CREATE INDEX login_failures_pair ON login_failures (username, ip, at);

      -- When the password last changed (sessions from before a change are revoked with it).
      ALTER TABLE users ADD COLUMN password_changed_at INTEGER;
      CREATE INDEX api_tokens_created_by ON api_tokens (created_by);
    `,
  },
  {
    version: 8,
    name: 'upstream_cache',
    sql: `
      -- What upstream registries last said, for pull-through: reused for metadata_ttl, served
      -- stale up to stale_if_error while the upstream fails, and kept across restarts.
      CREATE TABLE upstream_cache (
        hostname   TEXT NOT NULL,
        kind       TEXT NOT NULL CHECK (kind IN ('versions', 'release')),
        key        TEXT NOT NULL,      -- namespace/type, or namespace/type/version for a release
        body       TEXT NOT NULL,      -- JSON: the version list, or the verified release's documents
        shasums    BLOB,               -- a release's SHA256SUMS and .sig, the exact bytes served
        signature  BLOB,
        fetched_at INTEGER NOT NULL,   -- ms since epoch: when the upstream last answered
        PRIMARY KEY (hostname, kind, key)
      );
    `,
  },
  {
    version: 9,
    name: 'pull_leases',
    sql: `
      -- One upstream download per package across processes on this database: the process
      -- holding the row downloads, the others wait for the package to be published. A lease
      -- whose owner stopped renewing it (expires_at passed) is taken over.
      CREATE TABLE pull_leases (
        package_key  TEXT PRIMARY KEY,   -- hostname/namespace/type/version/os_arch
        owner        TEXT NOT NULL,
        acquired_at  INTEGER NOT NULL,   -- ms since epoch
        heartbeat_at INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'download_stats',
    sql: `
      -- When a package was first downloaded, beside the count and the last download, so the admin
      -- API can show what pull-through brought and whether anyone still uses it. Packages downloaded
      -- before this column existed get their last download: the earliest one known.
      ALTER TABLE provider_packages ADD COLUMN first_download_at TEXT;
      UPDATE provider_packages SET first_download_at = last_download_at WHERE last_download_at IS NOT NULL;
    `,
  },
  {
    version: 12,
    name: 'job_item_expected_hashes',
    sql: `
      -- A load from a lock file pins hashes (h1:/zh:, space-separated); the fetched package must match one.
      ALTER TABLE job_items ADD COLUMN expected_hashes TEXT;
    `,
  },
  {
    version: 13,
    name: 'modules',
    // Module mirror tables, and the set kind ModuleSet. Times are INTEGER epoch milliseconds
    // from the caller's clock, like the job tables.
    sql: `
      -- Registry addresses compare case-insensitively (Terraform's rule), so one module has one row
      -- whatever spelling a client or definition used; the first spelling is kept.
      CREATE TABLE modules (
        id         INTEGER PRIMARY KEY,
        hostname   TEXT NOT NULL COLLATE NOCASE,
        namespace  TEXT NOT NULL COLLATE NOCASE,
        name       TEXT NOT NULL COLLATE NOCASE,
        system     TEXT NOT NULL COLLATE NOCASE,
        status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deprecated', 'blocked')),
        created_at INTEGER NOT NULL,
        UNIQUE (hostname, namespace, name, system)
      );

      -- One held version: the upstream's location as answered, what it resolved to (git commit),
      -- and the normalized tar.gz stored under archive_key. git_commit, not "commit": a keyword.
      CREATE TABLE module_versions (
        id               INTEGER PRIMARY KEY,
        module_id        INTEGER NOT NULL REFERENCES modules (id) ON DELETE CASCADE,
        version          TEXT NOT NULL,
        location         TEXT NOT NULL,
        source_kind      TEXT NOT NULL CHECK (source_kind IN ('git', 'archive')),
        git_commit       TEXT,
        subdir           TEXT,
        archive_key      TEXT NOT NULL,
        sha256           TEXT NOT NULL,
        size             INTEGER NOT NULL,
        files            INTEGER NOT NULL,
        download_count   INTEGER NOT NULL DEFAULT 0,
        last_download_at INTEGER,
        created_at       INTEGER NOT NULL,
        drift_commit     TEXT,               -- what the ref pointed at upstream when last checked, if not git_commit
        drift_checked_at INTEGER,
        UNIQUE (module_id, version)
      );
      CREATE INDEX module_versions_archive_key ON module_versions (archive_key);

      -- Who brought or holds each module version, as package_holders does for packages.
      CREATE TABLE module_holders (
        module_version_id INTEGER NOT NULL REFERENCES module_versions (id) ON DELETE CASCADE,
        holder_kind   TEXT NOT NULL CHECK (holder_kind IN ('imported', 'loaded', 'pulled', 'set')),
        set_kind      TEXT NOT NULL DEFAULT '',
        set_namespace TEXT NOT NULL DEFAULT '',
        set_name      TEXT NOT NULL DEFAULT '',
        created_at    TEXT NOT NULL DEFAULT ${now},
        UNIQUE (module_version_id, holder_kind, set_kind, set_namespace, set_name),
        CHECK ((holder_kind = 'set') = (set_kind <> ''))
      );
      CREATE INDEX module_holders_set ON module_holders (set_kind, set_namespace, set_name, module_version_id);

      -- A ModuleSet is stored beside ProviderSets: widen the kind CHECK. SQLite cannot alter a
      -- CHECK, so rebuild as migration 6 did: items first, so no foreign key ever points at a
      -- dropped table (dropping a parent with foreign keys on would cascade-delete its items).
      CREATE TABLE provider_sets_v13 (
        id          INTEGER PRIMARY KEY,
        namespace   TEXT NOT NULL,
        name        TEXT NOT NULL,
        uid         TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('ProviderSet', 'ProviderMirror', 'ModuleSet')),
        generation  INTEGER NOT NULL,
        spec        TEXT NOT NULL,
        last_job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
        problems    TEXT NOT NULL DEFAULT '[]',
        synced_at   INTEGER,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        UNIQUE (kind, namespace, name)
      );
      INSERT INTO provider_sets_v13 (id, namespace, name, uid, kind, generation, spec, last_job_id, problems, synced_at, created_at, updated_at)
        SELECT id, namespace, name, uid, kind, generation, spec, last_job_id, problems, synced_at, created_at, updated_at FROM provider_sets;
      CREATE TABLE provider_set_items_v13 (
        set_id   INTEGER NOT NULL REFERENCES provider_sets_v13 (id) ON DELETE CASCADE,
        source   TEXT NOT NULL,
        version  TEXT NOT NULL,
        platform TEXT NOT NULL,
        UNIQUE (set_id, source, version, platform)
      );
      INSERT INTO provider_set_items_v13 (set_id, source, version, platform) SELECT set_id, source, version, platform FROM provider_set_items;
      DROP TABLE provider_set_items;
      DROP TABLE provider_sets;
      ALTER TABLE provider_sets_v13 RENAME TO provider_sets;
      ALTER TABLE provider_set_items_v13 RENAME TO provider_set_items;
      CREATE INDEX provider_set_items_package ON provider_set_items (source, version, platform);

      -- Module version lists are cached like provider ones: a new kind, so the same CHECK is rebuilt
      -- (no foreign keys point at this table).
      CREATE TABLE upstream_cache_v13 (
        hostname   TEXT NOT NULL,
        kind       TEXT NOT NULL CHECK (kind IN ('versions', 'release', 'module-versions')),
        key        TEXT NOT NULL,      -- namespace/type[/version]; for module-versions namespace/name/system
        body       TEXT NOT NULL,
        shasums    BLOB,
        signature  BLOB,
        fetched_at INTEGER NOT NULL,
        PRIMARY KEY (hostname, kind, key)
      );
      INSERT INTO upstream_cache_v13 (hostname, kind, key, body, shasums, signature, fetched_at)
        SELECT hostname, kind, key, body, shasums, signature, fetched_at FROM upstream_cache;
      DROP TABLE upstream_cache;
      ALTER TABLE upstream_cache_v13 RENAME TO upstream_cache;
    `,
  },
];
