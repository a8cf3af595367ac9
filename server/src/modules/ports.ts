/**
 * The contracts between the parts of the module mirror, so each can be built
 * and tested on its own. Types only; no I/O.
 *
 *   mirror/ (module routes) ──▶ MissHandler module methods (pull/pull-through.ts: policy, single-flight)
 *   loads/  (module job items) ─┐                       │
 *                               ▼                       ▼
 *                          ModuleIngest (modules/ingest.ts: fetch once, store, record with its holder)
 *                               ├─▶ ModuleUpstream  (upstream/module-registry.ts: versions, download location)
 *                               ├─▶ ModuleFetcher   (modules/fetch.ts: location → normalized tar.gz in staging)
 *                               │     ├─ archives: modules/extract.ts + modules/pack.ts
 *                               │     └─ git:      modules/git.ts (GitClient)
 *                               └─▶ ModuleRepository (db/modules.ts) + ObjectStore
 */

/** A module registry address: `hostname/namespace/name/system` (e.g. registry.terraform.io/terraform-aws-modules/vpc/aws). */
export interface ModuleAddress {
  /** Lowercase. */
  hostname: string;
  namespace: string;
  name: string;
  /** The "provider" segment of the registry protocol (aws, google, …). */
  system: string;
}

/**
 * Where an upstream registry said a version's package is, parsed from its
 * X-Terraform-Get (go-getter syntax) and resolved against the download URL.
 * Anything else (s3::, gcs::, hg::, ssh git, file paths) is refused while
 * parsing, with an error naming the scheme.
 */
export type ModuleLocation = GitLocation | ArchiveLocation;

export interface GitLocation {
  kind: 'git';
  /** The repository, https:// (http:// only for an upstream configured with an http url), no query, no //subdir. */
  url: string;
  /** `?ref=`: a tag, branch or commit; undefined: the remote's default branch. */
  ref?: string;
  /** `//subdir` (no leading or trailing slash); undefined: the repository root. */
  subdir?: string;
  /** The location as the upstream wrote it, for records and messages (query values beyond ref are dropped). */
  raw: string;
}

export interface ArchiveLocation {
  kind: 'archive';
  /** Absolute https URL of the archive (query kept, except `archive=` and `checksum=`), no //subdir. */
  url: string;
  format: 'tar.gz' | 'zip';
  /** `//subdir`; `*` means "the single top-level directory" and is expanded when the archive is read. */
  subdir?: string;
  /** go-getter's `?checksum=TYPE:HEX` (md5, sha1, sha256, sha512; lowercase hex): the download must match it. */
  checksum?: string;
  raw: string;
}

/** Bounds on one module package (config `limits`); everything beyond is refused with the reason and nothing is stored. */
export interface ModuleLimits {
  /** Largest download (archive bytes, or git pack data on disk). */
  maxDownloadBytes: number;
  /** Largest total size of the files in the tree. */
  maxTreeBytes: number;
  /** Most entries (files + directories) in the tree. */
  maxEntries: number;
}

/** A module package fetched, checked and re-packed as a normalized tar.gz in staging. */
export interface FetchedModule {
  /** A staged file; the caller stores it and then removes it. */
  file: string;
  /** Lowercase hex sha256 of the normalized tar.gz. */
  sha256: string;
  size: number;
  /** Files in the archive. */
  files: number;
  location: ModuleLocation;
  /** git: the full commit id the ref resolved to. */
  commit?: string;
  /**
   * The subdirectory to hand out with the mirror's archive URL (`…/archive.tar.gz//{subdir}`):
   * the location's //subdir, with `*` already expanded to the directory's name; undefined: the root.
   */
  subdir?: string;
}

export interface FetchOptions {
  signal?: AbortSignal;
  /** Bytes received so far (download or git transfer), for job progress. */
  onProgress?: (bytes: number) => void;
  /**
   * Hostname of the upstream that handed the location out: its reach rules
   * (plain http, private addresses) apply to the download. Undefined: the
   * fetcher's default client (see createModuleFetcher in fetch.ts).
   */
  upstream?: string;
}

export interface ModuleFetcher {
  /** Fetches what the location names, checks it against the limits, packs it normalized (same tree → same bytes). */
  fetch(location: ModuleLocation, opts?: FetchOptions): Promise<FetchedModule>;
  /** What a git ref points at upstream now (the drift check); undefined when the ref no longer exists. */
  resolveRef(location: GitLocation, signal?: AbortSignal, upstream?: string): Promise<string | undefined>;
}

/**
 * Shallow git over smart HTTP(S), used by the fetcher. `checkout` leaves the
 * tree at the ref in `into` with no `.git`; the fetcher then checks and packs
 * it like an extracted archive.
 */
export interface GitClient {
  checkout(location: GitLocation, into: string, opts?: FetchOptions & { maxBytes?: number }): Promise<{ commit: string }>;
  lsRemote(location: GitLocation, signal?: AbortSignal): Promise<string | undefined>;
}

/** The module registry protocol of one upstream (modules.v1 from its service discovery). */
export interface ModuleUpstream {
  readonly hostname: string;
  /** Version strings the upstream lists; NotFound when it has no such module. */
  listVersions(address: ModuleAddress, signal?: AbortSignal): Promise<string[]>;
  /**
   * The download location for a version, from the 204's X-Terraform-Get (or a 200's
   * header / `{"location"}` body), with relative forms resolved against the download URL.
   * Returned as written otherwise; parseLocation (modules/source.ts) checks it.
   */
  downloadLocation(address: ModuleAddress, version: string, signal?: AbortSignal): Promise<string>;
}

export type ModuleStatus = 'active' | 'deprecated' | 'blocked';

export interface ModuleRow extends ModuleAddress {
  id: number;
  status: ModuleStatus;
  createdAt: number;
}

export interface ModuleVersionRow {
  id: number;
  moduleId: number;
  version: string;
  /** The upstream's location as it answered it (ModuleLocation.raw). */
  location: string;
  sourceKind: 'git' | 'archive';
  /** git: the pinned commit; every download serves this tree, whatever the tag says later. */
  commit: string | null;
  /** Handed out with the archive URL (`//subdir`). */
  subdir: string | null;
  archiveKey: string;
  sha256: string;
  size: number;
  files: number;
  downloadCount: number;
  lastDownloadAt: number | null;
  createdAt: number;
  /** Drift check: what the ref pointed at upstream when last checked, when that differs from `commit`. */
  driftCommit: string | null;
  driftCheckedAt: number | null;
}

/** Who brought or holds a module version: the same holders as packages (a ModuleSet is a set kind). */
// Written out rather than imported from db/package-holders.ts: the definitions parser
// (server/src/providers, which reaches no I/O module, not even through type imports)
// reads module addresses with these types. Structurally the same type as PackageHolder.
export type ModuleHolder =
  | { kind: 'imported' }
  | { kind: 'loaded' }
  | { kind: 'pulled' }
  | { kind: 'set'; set: { kind: 'ProviderSet' | 'ProviderMirror' | 'ModuleSet'; namespace: string; name: string } };

export interface IngestedModule {
  row: ModuleVersionRow;
  /** false: it was held already (nothing fetched; the holder was added). */
  fetched: boolean;
}

/**
 * The write path for module versions: one fetch per (address, version) for
 * every concurrent caller in this process and across processes on one
 * database (a pull lease), store under the canonical key all-or-nothing,
 * record the row and its holder in one transaction, invalidate caches.
 * A version already held only gains the holder.
 */
export interface ModuleIngest {
  ingest(address: ModuleAddress, version: string, holder: ModuleHolder, opts?: FetchOptions): Promise<IngestedModule>;
}
