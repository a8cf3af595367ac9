/**
 * tfmirror.dev/v1alpha1: ProviderSet, ProviderMirror and ModuleSet. The single source of
 * their schemas: each field is written once (fields.ts), and from it come the
 * CRDs (`npm run gen:crds` renders crds/ and config/crd/), the TypeScript
 * types the operator uses, and the server's validation of provider-set
 * bodies (server/src/admin/provider-sets/schemas.ts imports the specs' `zod`).
 *
 * Patterns are evaluated by the API server with Go's RE2, so they use no
 * lookaround or back-references. They check the shape Terraform accepts; the
 * finer limits (64-character address parts, port range, numbers beyond 2^53)
 * are left to the server, which reports them in the CR's status.
 *
 * The operator never imports the server's internals (STYLE rule 1), so the
 * platform lists are repeated here; a test keeps them equal to
 * server/src/providers/platform.ts.
 */

import { type Field, type Infer, type Rule, anyObject, array, integer, object, oneOf, string } from './fields.js';
import type { CrdSource, PrinterColumn } from './schema.js';

export const GROUP = 'tfmirror.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const KNOWN_OS = ['darwin', 'freebsd', 'linux', 'netbsd', 'openbsd', 'solaris', 'windows'] as const;
export const KNOWN_ARCH = [
  '386',
  'amd64',
  'arm',
  'arm64',
  'mips',
  'mips64',
  'mips64le',
  'mipsle',
  'ppc64le',
  'riscv64',
  's390x',
] as const;
export const PLATFORMS: readonly string[] = KNOWN_OS.flatMap((os) => KNOWN_ARCH.map((arch) => `${os}_${arch}`));

// ---------------------------------------------------------------------------
// Patterns

// Address part (namespace, type): letters/digits with single inner dashes,
// which also refuses "--" as Terraform does. Letter case is free; the server
// lowercases.
const PART = '[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*';
// Hostname label: dashes inside allowed, "--" included (punycode "xn--").
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const HOST = `${LABEL}(?:\\.${LABEL})*(?::[0-9]{1,5})?/`;
export const SOURCE_PATTERN = `^(?:${HOST})?${PART}/${PART}$`;
// Module address [hostname/]namespace/name/system, as Terraform's registry
// addresses: namespace and name allow inner "-" and "_", the system is
// lowercase alphanumeric (server/src/modules/address.ts; a test keeps them equal).
const MODULE_PART = '[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?';
export const MODULE_SOURCE_PATTERN = `^(?:${HOST})?${MODULE_PART}/${MODULE_PART}/[a-z0-9]+$`;

// A Terraform constraint term: optional operator, then 1 to 3 numeric parts
// without leading zeros, optional prerelease and build. An exact version is a
// term without operator, so one pattern admits both.
const NUMBER = '(?:0|[1-9][0-9]*)';
const WRITTEN_VERSION = `${NUMBER}(?:\\.${NUMBER}){0,2}(?:-[0-9A-Za-z.-]+)?(?:\\+[0-9A-Za-z.-]+)?`;
const TERM = ` *(?:(?:~>|>=|<=|!=|=|>|<) *)?${WRITTEN_VERSION} *`;
export const VERSION_CONSTRAINT_PATTERN = `^${TERM}(?:,${TERM})*$`;

/** Go duration restricted to what a sync interval needs: "30m", "6h", "1h30m". */
export const DURATION_PATTERN = '^(?:[0-9]+(?:\\.[0-9]+)?(?:ms|s|m|h))+$';

// metav1.Condition's own validation.
const CONDITION_TYPE_PATTERN =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$';
const CONDITION_REASON_PATTERN = '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$';

// ---------------------------------------------------------------------------
// Fields

const MAX_VERSIONS = 100;
const MAX_FAILURES = 50;
const MAX_HCL_LENGTH = 256 * 1024;

const source = string({
  description: 'Provider source address [hostname/]namespace/type; the hostname defaults to registry.terraform.io.',
  pattern: SOURCE_PATTERN,
  maxLength: 400,
  semantic: true,
});

const versions = array(
  string({ description: 'An exact version or a Terraform version constraint.', pattern: VERSION_CONSTRAINT_PATTERN, minLength: 1, maxLength: 1024, semantic: true }),
  {
    description: 'Exact versions ("5.31.0") or Terraform version constraints ("~> 5.40", ">= 1.0, < 2.0").',
    minItems: 1,
    maxItems: MAX_VERSIONS,
    'x-kubernetes-list-type': 'set',
    semantic: true,
  },
);

const latest = integer({ description: 'With constraints: keep only the newest N matching versions.', minimum: 1, maximum: 100, semantic: true });

const platforms = array(string({ enum: PLATFORMS, semantic: true }), {
  description: 'Target platforms, os_arch.',
  minItems: 1,
  maxItems: PLATFORMS.length,
  'x-kubernetes-list-type': 'set',
  semantic: true,
});

const deletionPolicy = oneOf(['Retain', 'Delete'], {
  description: 'Retain keeps the mirrored packages when the resource is deleted; Delete removes what only it holds.',
  default: 'Retain',
});

// Unknown keys go on to the server's definitions parser, which names them.
const provider = object({ source, versions, latest, platforms }, { required: ['source', 'versions', 'platforms'], passUnknown: true });

const condition = object(
  {
    type: string({ description: 'Ready, Progressing or Degraded.', pattern: CONDITION_TYPE_PATTERN, maxLength: 316 }),
    status: oneOf(['True', 'False', 'Unknown'], { description: 'True, False or Unknown.' }),
    observedGeneration: integer({ format: 'int64', minimum: 0 }),
    lastTransitionTime: string({ description: 'When the status last changed.', format: 'date-time' }),
    reason: string({ description: 'CamelCase reason.', pattern: CONDITION_REASON_PATTERN, minLength: 1, maxLength: 1024 }),
    message: string({ description: 'Human-readable detail.', maxLength: 32768 }),
  },
  { description: 'metav1.Condition.', required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
);

const count = (description: string) => integer({ format: 'int32', minimum: 0, description });

const itemFailure = object(
  { source: string(), version: string(), platform: string(), message: string({ maxLength: 4096 }) },
  { required: ['source', 'message'] },
);

/** The status every kind shares; `unit` names what the counts count. */
const statusFieldsOf = (unit: { items: string; detail: string }) => ({
  observedGeneration: integer({ format: 'int64', description: 'The generation the status describes.' }),
  conditions: array(condition, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  desired: count(`${unit.items} (${unit.detail}) the spec asks for.`),
  ready: count(`${unit.items} held by the mirror.`),
  failed: count(`${unit.items} that failed to mirror.`),
  failures: array(itemFailure, { description: `The failing items (at most ${MAX_FAILURES}).`, maxItems: MAX_FAILURES }),
  lastSyncTime: string({ description: 'When the controller last completed a pass.', format: 'date-time' }),
});
const statusFields = statusFieldsOf({ items: 'Packages', detail: 'provider, version, platform' });

const STATUS_DESCRIPTION = 'Written by the controller only.';
const providerSetStatus = object(statusFields, { description: STATUS_DESCRIPTION });
const moduleSetStatus = object(statusFieldsOf({ items: 'Module versions', detail: 'module, version' }), {
  description: STATUS_DESCRIPTION,
});
const providerMirrorStatus = object(
  {
    ...statusFields,
    resolvedVersions: array(string(), { description: 'The versions the constraints resolved to at the last sync, newest first.' }),
  },
  { description: STATUS_DESCRIPTION },
);

export const PROVIDERS_XOR_HCL: Rule = {
  cel: { rule: 'has(self.providers) != has(self.hcl)', message: 'exactly one of spec.providers or spec.hcl must be set' },
  holds: (spec) => (spec.providers === undefined) !== (spec.hcl === undefined),
};

export const providerSetSpec = object(
  {
    providers: array(provider, { minItems: 1, maxItems: 1000 }),
    hcl: string({ description: 'Provider definitions in HCL (provider "hashicorp/aws" { ... } blocks).', minLength: 1, maxLength: MAX_HCL_LENGTH }),
    deletionPolicy,
  },
  { description: 'Either providers (the YAML provider definitions) or hcl (the HCL text), not both.', rules: [PROVIDERS_XOR_HCL] },
);

export const providerMirrorSpec = object(
  {
    source,
    versions,
    latest,
    platforms,
    syncInterval: string({
      description: 'How often to re-resolve the versions upstream (Go duration: 30m, 6h, 1h30m).',
      pattern: DURATION_PATTERN,
      default: '1h',
    }),
    deletionPolicy,
  },
  { required: ['source', 'versions', 'platforms'] },
);

export const MODULES_XOR_HCL: Rule = {
  cel: { rule: 'has(self.modules) != has(self.hcl)', message: 'exactly one of spec.modules or spec.hcl must be set' },
  holds: (spec) => (spec.modules === undefined) !== (spec.hcl === undefined),
};

const moduleSource = string({
  description: 'Module registry address [hostname/]namespace/name/system; the hostname defaults to registry.terraform.io.',
  pattern: MODULE_SOURCE_PATTERN,
  maxLength: 400,
  semantic: true,
});

// Unknown keys go on to the server's definitions parser, which names them.
const moduleDefinition = object({ source: moduleSource, versions, latest }, { required: ['source', 'versions'], passUnknown: true });

export const moduleSetSpec = object(
  {
    modules: array(moduleDefinition, { minItems: 1, maxItems: 1000 }),
    hcl: string({ description: 'Module definitions in HCL (module "terraform-aws-modules/vpc/aws" { ... } blocks).', minLength: 1, maxLength: MAX_HCL_LENGTH }),
    deletionPolicy,
  },
  { description: 'Either modules (the YAML module definitions) or hcl (the HCL text), not both.', rules: [MODULES_XOR_HCL] },
);

function rootSchema(kind: string, spec: Field<unknown>, status: Field<unknown>) {
  return object(
    { apiVersion: string(), kind: string(), metadata: anyObject(), spec, status },
    { description: `${kind} (${API_VERSION}).`, required: ['spec'] },
  ).json;
}

// ---------------------------------------------------------------------------
// Types (what the operator reads and writes), inferred from the fields

export type DeletionPolicy = Infer<typeof deletionPolicy>;
export type ConditionType = 'Ready' | 'Progressing' | 'Degraded';
export type ConditionStatus = Infer<typeof condition>['status'];
export type ProviderSpec = Infer<typeof provider>;
export type ProviderSetSpec = Infer<typeof providerSetSpec>;
export type ProviderMirrorSpec = Infer<typeof providerMirrorSpec>;
export type ModuleSpec = Infer<typeof moduleDefinition>;
export type ModuleSetSpec = Infer<typeof moduleSetSpec>;
/** metav1.Condition. */
export type Condition = Infer<typeof condition>;
export type ItemFailure = Infer<typeof itemFailure>;
export type MirrorStatus = Infer<typeof providerSetStatus>;
export type ProviderSetStatus = MirrorStatus;
export type ProviderMirrorStatus = Infer<typeof providerMirrorStatus>;
export type ModuleSetStatus = Infer<typeof moduleSetStatus>;

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  finalizers?: string[];
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ProviderSet {
  apiVersion: typeof API_VERSION;
  kind: 'ProviderSet';
  metadata: ObjectMeta;
  spec: ProviderSetSpec;
  status?: ProviderSetStatus;
}

export interface ProviderMirror {
  apiVersion: typeof API_VERSION;
  kind: 'ProviderMirror';
  metadata: ObjectMeta;
  spec: ProviderMirrorSpec;
  status?: ProviderMirrorStatus;
}

export interface ModuleSet {
  apiVersion: typeof API_VERSION;
  kind: 'ModuleSet';
  metadata: ObjectMeta;
  spec: ModuleSetSpec;
  status?: ModuleSetStatus;
}

const readyColumnsOf = (held: string): PrinterColumn[] => [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Desired', type: 'integer', jsonPath: '.status.desired' },
  { name: 'Mirrored', type: 'integer', jsonPath: '.status.ready', description: `${held} held by the mirror.` },
  { name: 'Failed', type: 'integer', jsonPath: '.status.failed', priority: 1 },
  {
    name: 'Message',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].message',
    priority: 1,
  },
];
const readyColumns = readyColumnsOf('Packages');
const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

// ---------------------------------------------------------------------------
// The kinds

export const providerSetCrd: CrdSource = {
  group: GROUP,
  version: VERSION,
  scope: 'Namespaced',
  names: {
    kind: 'ProviderSet',
    listKind: 'ProviderSetList',
    plural: 'providersets',
    singular: 'providerset',
    shortNames: ['tfps'],
    categories: ['tfmirror'],
  },
  description: 'A batch of providers to hold in the mirror.',
  schema: rootSchema('ProviderSet', providerSetSpec, providerSetStatus),
  printerColumns: [...readyColumns, ageColumn],
};

export const providerMirrorCrd: CrdSource = {
  group: GROUP,
  version: VERSION,
  scope: 'Namespaced',
  names: {
    kind: 'ProviderMirror',
    listKind: 'ProviderMirrorList',
    plural: 'providermirrors',
    singular: 'providermirror',
    shortNames: ['tfpm'],
    categories: ['tfmirror'],
  },
  description: 'One provider kept in the mirror, re-resolved against upstream every syncInterval.',
  schema: rootSchema('ProviderMirror', providerMirrorSpec, providerMirrorStatus),
  printerColumns: [
    { name: 'Source', type: 'string', jsonPath: '.spec.source' },
    ...readyColumns,
    { name: 'Last Sync', type: 'date', jsonPath: '.status.lastSyncTime', priority: 1 },
    ageColumn,
  ],
};

export const moduleSetCrd: CrdSource = {
  group: GROUP,
  version: VERSION,
  scope: 'Namespaced',
  names: {
    kind: 'ModuleSet',
    listKind: 'ModuleSetList',
    plural: 'modulesets',
    singular: 'moduleset',
    shortNames: ['tfms'],
    categories: ['tfmirror'],
  },
  description: 'A batch of Terraform modules (registry addresses and versions) to hold in the mirror.',
  schema: rootSchema('ModuleSet', moduleSetSpec, moduleSetStatus),
  printerColumns: [...readyColumnsOf('Module versions'), ageColumn],
};

export const CRDS: readonly CrdSource[] = [providerSetCrd, providerMirrorCrd, moduleSetCrd];
