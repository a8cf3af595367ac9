import type { Database } from './database.js';
import { InvalidInput } from '../errors.js';

export type SetKind = 'ProviderSet' | 'ProviderMirror' | 'ModuleSet';

/** A provider set's identity: the kind is part of it (a ProviderSet and a ProviderMirror may share a name). */
export interface SetIdentity {
  kind: SetKind;
  /** The custom resource's Kubernetes namespace (not a provider namespace). */
  namespace: string;
  name: string;
}

/**
 * Who brought or holds a package. A purge of a set removes only packages
 * whose last holder was that set: imported, admin-loaded and pulled content
 * is never purged by a set.
 */
export type PackageHolder = { kind: 'imported' } | { kind: 'loaded' } | { kind: 'pulled' } | { kind: 'set'; set: SetIdentity };

export type OriginHolderKind = 'imported' | 'loaded' | 'pulled';

/** The text form carried by jobs: "loaded" or "set:{kind}/{namespace}/{name}" (Kubernetes names hold no "/"). */
export function formatHolder(h: PackageHolder): string {
  return h.kind === 'set' ? `set:${h.set.kind}/${h.set.namespace}/${h.set.name}` : h.kind;
}

export function parseHolder(s: string): PackageHolder {
  if (s === 'imported' || s === 'loaded' || s === 'pulled') return { kind: s };
  const m = /^set:(ProviderSet|ProviderMirror|ModuleSet)\/([^/]+)\/([^/]+)$/.exec(s);
  if (!m) throw new InvalidInput(`invalid package holder ${JSON.stringify(s)}`);
  return { kind: 'set', set: { kind: m[1] as SetKind, namespace: m[2]!, name: m[3]! } };
}

/**
 * A holder as the holder tables store it (package_holders, module_holders):
 * the kind, and the set's identity or empty strings, so the unique key also
 * covers origin holders.
 */
export interface HolderColumns {
  holderKind: PackageHolder['kind'];
  setKind: string;
  setNamespace: string;
  setName: string;
}

export function holderColumns(h: PackageHolder): HolderColumns {
  return h.kind === 'set'
    ? { holderKind: 'set', setKind: h.set.kind, setNamespace: h.set.namespace, setName: h.set.name }
    : { holderKind: h.kind, setKind: '', setNamespace: '', setName: '' };
}

export function holderFromColumns(r: HolderColumns): PackageHolder {
  return r.holderKind === 'set'
    ? { kind: 'set', set: { kind: r.setKind as SetKind, namespace: r.setNamespace, name: r.setName } }
    : { kind: r.holderKind };
}

type HolderParams = HolderColumns & { packageId: number };

/**
 * The package_holders table. Used inside the provider and provider-set
 * repositories' transactions, so holder rows change together with the
 * package rows they guard.
 */
export class PackageHolderStatements {
  private readonly stmts;

  constructor(db: Database) {
    this.stmts = {
      insert: db.prepare<HolderParams>(
        `INSERT INTO package_holders (package_id, holder_kind, set_kind, set_namespace, set_name)
         VALUES (@packageId, @holderKind, @setKind, @setNamespace, @setName) ON CONFLICT DO NOTHING`,
      ),
      ofPackage: db.prepare<[number], HolderColumns>(
        `SELECT holder_kind AS holderKind, set_kind AS setKind, set_namespace AS setNamespace, set_name AS setName
           FROM package_holders WHERE package_id = ? ORDER BY holder_kind, set_kind, set_namespace, set_name`,
      ),
      packagesOfSet: db.prepare<SetIdentity, { id: number }>(
        `SELECT package_id AS id FROM package_holders
          WHERE holder_kind = 'set' AND set_kind = @kind AND set_namespace = @namespace AND set_name = @name`,
      ),
      releaseSet: db.prepare<SetIdentity>(
        `DELETE FROM package_holders
          WHERE holder_kind = 'set' AND set_kind = @kind AND set_namespace = @namespace AND set_name = @name`,
      ),
      isHeld: db.prepare<[number], { one: number }>(`SELECT 1 AS one FROM package_holders WHERE package_id = ? LIMIT 1`),
    };
  }

  add(packageId: number, h: PackageHolder): void {
    this.stmts.insert.run({ packageId, ...holderColumns(h) });
  }

  of(packageId: number): PackageHolder[] {
    return this.stmts.ofPackage.all(packageId).map(holderFromColumns);
  }

  /** Removes the set's holder rows; returns the packages it held. */
  releaseSet(set: SetIdentity): number[] {
    const params = { kind: set.kind, namespace: set.namespace, name: set.name };
    const ids = this.stmts.packagesOfSet.all(params).map((r) => r.id);
    this.stmts.releaseSet.run(params);
    return ids;
  }

  isHeld(packageId: number): boolean {
    return this.stmts.isHeld.get(packageId) !== undefined;
  }
}
