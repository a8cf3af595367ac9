/** Generators of valid inputs, which mutate.ts then breaks. */

import fc from 'fast-check';

const numericId = fc
  .oneof(fc.constantFrom(0, 1, 2, 3, 10, 31, 99), fc.nat(), fc.maxSafeNat(), fc.constant(Number.MAX_SAFE_INTEGER))
  .map(String);
const alnumId = fc
  .tuple(fc.stringMatching(/^[0-9]{0,3}$/), fc.stringMatching(/^[A-Za-z-][0-9A-Za-z-]{0,8}$/))
  .map(([digits, rest]) => digits + rest);
const prereleaseId = fc.oneof(numericId, alnumId);
const buildId = fc.stringMatching(/^[0-9A-Za-z-]{1,8}$/);

/** Strict semver 2.0.0, as isValidVersion accepts it (at most 128 characters). */
export const validVersion: fc.Arbitrary<string> = fc
  .tuple(
    numericId,
    numericId,
    numericId,
    fc.option(fc.array(prereleaseId, { minLength: 1, maxLength: 3 }), { nil: undefined }),
    fc.option(fc.array(buildId, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  )
  .map(([a, b, c, pre, build]) => `${a}.${b}.${c}${pre ? `-${pre.join('.')}` : ''}${build ? `+${build.join('.')}` : ''}`)
  .filter((v) => v.length <= 128);

/** Everyday versions: small numbers, so constraints over them overlap. */
export const smallVersion: fc.Arbitrary<string> = fc
  .tuple(
    fc.integer({ min: 0, max: 6 }),
    fc.integer({ min: 0, max: 6 }),
    fc.integer({ min: 0, max: 6 }),
    fc.option(fc.constantFrom('alpha', 'beta.1', 'rc1', '0'), { nil: undefined }),
  )
  .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre}` : ''}`);

const OPERATORS = ['', '=', '!=', '>', '>=', '<', '<=', '~>'] as const;

/** A version as a constraint term writes it: 1 to 3 parts, optional prerelease and build. */
const writtenVersion = fc
  .tuple(
    fc.array(fc.integer({ min: 0, max: 20 }).map(String), { minLength: 1, maxLength: 3 }),
    fc.option(fc.constantFrom('-beta', '-rc.1', '-0', '+build.5'), { nil: undefined }),
  )
  .map(([parts, suffix]) => parts.join('.') + (suffix ?? ''));

/** Valid Terraform constraints, with the spacing people write. */
export const validConstraint: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(fc.constantFrom(...OPERATORS), fc.constantFrom('', ' ', '  '), writtenVersion).map(([op, sp, v]) => op + sp + v),
    { minLength: 1, maxLength: 4 },
  )
  .chain((terms) => fc.constantFrom(', ', ',', ' , ').map((sep) => terms.join(sep)));

/** Constraints from the constraint tests' tables. */
export const TABLE_CONSTRAINTS: readonly string[] = [
  '~> 1.2', '~> 1.2.0', '~> 1.2.3', '~> 1', '~> 0.12', '~> 0.12.29', '~> 1.2.0-beta', '1.2.3', '= 1.2', '= 1.2.3+build.1',
  '!= 1.5.0', '>= 1.0, < 2.0, != 1.5.0', '> 1.2.3', '<= 3', '>=1.0,<2', '= 1.0.0-rc1', '>= 3.5, != 3.6.1', '~> 5.40',
  '5.31.0', '~> 9007199254740991', '>= 0.0.0',
];

const PLATFORMS = ['linux_amd64', 'linux_arm64', 'darwin_arm64', 'darwin_amd64', 'windows_amd64', 'freebsd_386'];
const part = fc.stringMatching(/^[a-z0-9]{1,6}(-[a-z0-9]{1,6})?$/);

export interface ProviderModel {
  hostname?: string;
  namespace: string;
  type: string;
  versions: string[];
  latest?: number;
  platforms: string[];
}

/** The schema's content, format-neutral: printed to HCL, YAML and JSON by the definitions tests. */
export const providerModels: fc.Arbitrary<ProviderModel[]> = fc.uniqueArray(
  fc.record(
    {
      hostname: fc.constantFrom('registry.terraform.io', 'registry.opentofu.org', 'example.com:8443'),
      namespace: part,
      type: part,
      versions: fc.uniqueArray(fc.oneof(smallVersion, validConstraint), { minLength: 1, maxLength: 3 }),
      latest: fc.integer({ min: 1, max: 10 }),
      platforms: fc.uniqueArray(fc.constantFrom(...PLATFORMS), { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: ['namespace', 'type', 'versions', 'platforms'] },
  ),
  { minLength: 1, maxLength: 4, selector: (p) => `${p.hostname ?? 'registry.terraform.io'}/${p.namespace}/${p.type}` },
);
