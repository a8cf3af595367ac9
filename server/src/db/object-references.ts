import type { Database } from './database.js';

/**
 * Which stored objects the provider and module rows still name. Read-only; the orphan
 * sweep asks it about every object it lists, so each question is one indexed
 * (or, for the small versions table, cheap) lookup.
 */
export class ObjectReferenceRepository {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      package: db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM provider_packages WHERE object_key = ? LIMIT 1`),
      evidence: db.prepare<[string, string], { one: number }>(
        `SELECT 1 AS one FROM provider_versions WHERE shasums_key = ? OR signature_key = ? LIMIT 1`,
      ),
      moduleArchive: db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM module_versions WHERE archive_key = ? LIMIT 1`),
      // Keys hold only [A-Za-z0-9._+-/], so the prefix has no GLOB wildcards in it.
      packageUnder: db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM provider_packages WHERE object_key GLOB ? || '*' LIMIT 1`),
    };
  }

  /** A package's archive, a version's SHA256SUMS or signature, or a module version's archive. */
  isReferenced(key: string): boolean {
    return (
      this.stmts.package.get(key) !== undefined ||
      this.stmts.evidence.get(key, key) !== undefined ||
      this.stmts.moduleArchive.get(key) !== undefined
    );
  }

  /** Whether any package row lies under this key prefix (files kept per version, like its signing keys). */
  hasPackageUnder(prefix: string): boolean {
    return this.stmts.packageUnder.get(prefix) !== undefined;
  }
}
