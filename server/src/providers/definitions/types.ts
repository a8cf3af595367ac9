/**
 * Provider definitions: which providers, versions and platforms the mirror
 * should hold. The same schema is written in HCL, YAML or JSON (and in the
 * operator's custom resources), so every format parses to these types.
 */

import type { ProviderAddress } from '../address.js';
import type { Constraint } from '../constraints.js';
import type { Platform } from '../platform.js';
import type { ModuleAddress } from '../../modules/ports.js';

export type DefinitionFormat = 'hcl' | 'yaml' | 'json';

/** 1-based. HCL positions are best effort: the line is always known, the column when found. */
export interface Position {
  line: number;
  column?: number;
}

/** One entry of `versions`: exactly one of `exact` or `constraint` is set. */
export interface VersionSelector {
  /** As written (trimmed). */
  text: string;
  /** A full semver version to mirror as is. */
  exact?: string;
  /** A Terraform constraint, resolved against the upstream's version list. */
  constraint?: Constraint;
}

export interface ProviderDefinition {
  address: ProviderAddress;
  /** Normalized `hostname/namespace/type`. */
  source: string;
  versions: VersionSelector[];
  /**
   * Keep only the newest N versions matching each constraint (per constraint,
   * so `["~> 4.0", "~> 5.0"]` keeps N of each line). Exact versions are always
   * kept: `latest` next to exact versions only is allowed and has no effect.
   */
  latest?: number;
  platforms: Platform[];
  /**
   * From a lock file: the `h1:` and `zh:` hashes it pins for the version. A
   * package passes when its zh or its h1 is listed; none listed, no check.
   */
  hashes?: string[];
  /** Where the definition starts in its document. */
  position?: Position;
}

/** A module to hold: the same versions/latest rules as a provider, and no platforms (a module is source code). */
export interface ModuleDefinition {
  address: ModuleAddress;
  /** Normalized `hostname/namespace/name/system`. */
  source: string;
  versions: VersionSelector[];
  /** As for providers: the newest N matches per constraint; exact versions are always kept. */
  latest?: number;
  /** Where the definition starts in its document. */
  position?: Position;
}

/** Everything one document (or several, merged) asks the mirror to hold. */
export interface Definitions {
  providers: ProviderDefinition[];
  modules: ModuleDefinition[];
}
