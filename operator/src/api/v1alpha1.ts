/**
 * tfmirror.dev/v1alpha1: ProviderSet and ProviderMirror. The single source of
 * their schemas (validation included) and of the TypeScript types the operator
 * uses; `npm run gen:crds` renders crds/ and config/crd/ from here.
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

import type { CelValidation, CrdSource, JSONSchemaProps, PrinterColumn } from './schema.js';

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
// Types (what the operator reads and writes)

export type DeletionPolicy = 'Retain' | 'Delete';
export type ConditionType = 'Ready' | 'Progressing' | 'Degraded';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface ProviderSpec {
  source: string;
  versions: string[];
  latest?: number;
  platforms: string[];
}

export interface ProviderSetSpec {
  providers?: ProviderSpec[];
  hcl?: string;
  deletionPolicy?: DeletionPolicy;
}

export interface ProviderMirrorSpec extends ProviderSpec {
  syncInterval?: string;
  deletionPolicy?: DeletionPolicy;
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ItemFailure {
  source: string;
  version?: string;
  platform?: string;
  message: string;
}

export interface MirrorStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  desired?: number;
  ready?: number;
  failed?: number;
  failures?: ItemFailure[];
  lastSyncTime?: string;
}

export type ProviderSetStatus = MirrorStatus;

export interface ProviderMirrorStatus extends MirrorStatus {
  resolvedVersions?: string[];
}

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

// ---------------------------------------------------------------------------
// Patterns

// Address part (namespace, type): letters/digits with single inner dashes,
// which also refuses "--" as Terraform does. Letter case is free; the server
// lowercases.
const PART = '[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*';
// Hostname label: dashes inside allowed, "--" included (punycode "xn--").
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
export const SOURCE_PATTERN = `^(?:${LABEL}(?:\\.${LABEL})*(?::[0-9]{1,5})?/)?${PART}/${PART}$`;

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
// Schema pieces

const MAX_VERSIONS = 100;
const MAX_FAILURES = 50;
const MAX_HCL_LENGTH = 256 * 1024;

const str = (description: string, extra: Partial<JSONSchemaProps> = {}): JSONSchemaProps => ({
  type: 'string',
  description,
  ...extra,
});

const source = str('Provider source address [hostname/]namespace/type; the hostname defaults to registry.terraform.io.', {
  pattern: SOURCE_PATTERN,
  maxLength: 400,
});

const versions: JSONSchemaProps = {
  type: 'array',
  description: 'Exact versions ("5.31.0") or Terraform version constraints ("~> 5.40", ">= 1.0, < 2.0").',
  minItems: 1,
  maxItems: MAX_VERSIONS,
  'x-kubernetes-list-type': 'set',
  items: str('An exact version or a Terraform version constraint.', {
    pattern: VERSION_CONSTRAINT_PATTERN,
    minLength: 1,
    maxLength: 1024,
  }),
};

const latest: JSONSchemaProps = {
  type: 'integer',
  description: 'With constraints: keep only the newest N matching versions.',
  minimum: 1,
  maximum: 100,
};

const platforms: JSONSchemaProps = {
  type: 'array',
  description: 'Target platforms, os_arch.',
  minItems: 1,
  maxItems: PLATFORMS.length,
  'x-kubernetes-list-type': 'set',
  items: { type: 'string', enum: [...PLATFORMS] },
};

const deletionPolicy: JSONSchemaProps = {
  type: 'string',
  description: 'Retain keeps the mirrored packages when the resource is deleted; Delete removes what only it holds.',
  enum: ['Retain', 'Delete'],
  default: 'Retain',
};

const provider: JSONSchemaProps = {
  type: 'object',
  required: ['source', 'versions', 'platforms'],
  properties: { source, versions, latest, platforms },
};

const condition: JSONSchemaProps = {
  type: 'object',
  description: 'metav1.Condition.',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: str('Ready, Progressing or Degraded.', { pattern: CONDITION_TYPE_PATTERN, maxLength: 316 }),
    status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: str('When the status last changed.', { format: 'date-time' }),
    reason: str('CamelCase reason.', { pattern: CONDITION_REASON_PATTERN, minLength: 1, maxLength: 1024 }),
    message: str('Human-readable detail.', { maxLength: 32768 }),
  },
};

const count = (description: string): JSONSchemaProps => ({ type: 'integer', format: 'int32', minimum: 0, description });

function statusSchema(extra: Record<string, JSONSchemaProps>): JSONSchemaProps {
  return {
    type: 'object',
    description: 'Written by the controller only.',
    properties: {
      observedGeneration: { type: 'integer', format: 'int64', description: 'The generation the status describes.' },
      conditions: {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
        items: condition,
      },
      desired: count('Packages (provider, version, platform) the spec asks for.'),
      ready: count('Packages held by the mirror.'),
      failed: count('Packages that failed to mirror.'),
      failures: {
        type: 'array',
        description: `The failing items (at most ${MAX_FAILURES}).`,
        maxItems: MAX_FAILURES,
        items: {
          type: 'object',
          required: ['source', 'message'],
          properties: {
            source: { type: 'string' },
            version: { type: 'string' },
            platform: { type: 'string' },
            message: { type: 'string', maxLength: 4096 },
          },
        },
      },
      lastSyncTime: str('When the controller last completed a pass.', { format: 'date-time' }),
      ...extra,
    },
  };
}

export const PROVIDERS_XOR_HCL: CelValidation = {
  rule: 'has(self.providers) != has(self.hcl)',
  message: 'exactly one of spec.providers or spec.hcl must be set',
};

function rootSchema(kind: string, spec: JSONSchemaProps, status: JSONSchemaProps): JSONSchemaProps {
  return {
    type: 'object',
    description: `${kind} (${API_VERSION}).`,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec,
      status,
    },
  };
}

const readyColumns: PrinterColumn[] = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Desired', type: 'integer', jsonPath: '.status.desired' },
  { name: 'Mirrored', type: 'integer', jsonPath: '.status.ready', description: 'Packages held by the mirror.' },
  { name: 'Failed', type: 'integer', jsonPath: '.status.failed', priority: 1 },
  {
    name: 'Message',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].message',
    priority: 1,
  },
];
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
  schema: rootSchema(
    'ProviderSet',
    {
      type: 'object',
      description: 'Either providers (the YAML provider definitions) or hcl (the HCL text), not both.',
      'x-kubernetes-validations': [PROVIDERS_XOR_HCL],
      properties: {
        providers: { type: 'array', minItems: 1, maxItems: 1000, items: provider },
        hcl: str('Provider definitions in HCL (provider "hashicorp/aws" { ... } blocks).', {
          minLength: 1,
          maxLength: MAX_HCL_LENGTH,
        }),
        deletionPolicy,
      },
    },
    statusSchema({}),
  ),
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
  schema: rootSchema(
    'ProviderMirror',
    {
      type: 'object',
      required: ['source', 'versions', 'platforms'],
      properties: {
        source,
        versions,
        latest,
        platforms,
        syncInterval: str('How often to re-resolve the versions upstream (Go duration: 30m, 6h, 1h30m).', {
          pattern: DURATION_PATTERN,
          default: '1h',
        }),
        deletionPolicy,
      },
    },
    statusSchema({
      resolvedVersions: {
        type: 'array',
        description: 'The versions the constraints resolved to at the last sync, newest first.',
        items: { type: 'string' },
      },
    }),
  ),
  printerColumns: [
    { name: 'Source', type: 'string', jsonPath: '.spec.source' },
    ...readyColumns,
    { name: 'Last Sync', type: 'date', jsonPath: '.status.lastSyncTime', priority: 1 },
    ageColumn,
  ],
};

export const CRDS: readonly CrdSource[] = [providerSetCrd, providerMirrorCrd];
