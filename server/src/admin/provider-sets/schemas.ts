import { z } from 'zod';
import {
  moduleSetSpec as moduleSetSpecField,
  providerMirrorSpec as providerMirrorSpecField,
  providerSetSpec as providerSetSpecField,
} from '../../../../operator/src/api/v1alpha1.js';

/**
 * The request and status shapes of the operator's API. The specs are the
 * custom resources' own, from their single definition in the operator's API
 * module (a pure module: types, the CRD schema and this check come from the
 * same fields). Only the envelope of a definition is checked there; what a
 * definition means (addresses, constraints, platforms) is checked by
 * parseDefinitions, so messages match every other way of loading definitions.
 */

export const providerSetSpec = providerSetSpecField.zod;
export const providerMirrorSpec = providerMirrorSpecField.zod;
export const moduleSetSpec = moduleSetSpecField.zod;

const envelope = {
  /** metadata.uid: a different uid under the same name is a recreated object. */
  uid: z.string().min(1),
  /** metadata.generation: the spec is planned once per generation. */
  generation: z.number().int().min(0),
  /** Plan again even when this generation was planned (to pick up new upstream releases). */
  resync: z.boolean().optional(),
};

export const applyBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ProviderSet'), spec: providerSetSpec, ...envelope }),
  z.object({ kind: z.literal('ProviderMirror'), spec: providerMirrorSpec, ...envelope }),
  z.object({ kind: z.literal('ModuleSet'), spec: moduleSetSpec, ...envelope }),
]);

/** The kinds of set records, as the path's kind parameter and the list name them. */
export const setKind = z.enum(['ProviderSet', 'ProviderMirror', 'ModuleSet']);

export type ProviderSetSpec = z.infer<typeof providerSetSpec>;
export type ProviderMirrorSpec = z.infer<typeof providerMirrorSpec>;
export type ModuleSetSpec = z.infer<typeof moduleSetSpec>;
export type ApplyBody = z.infer<typeof applyBody>;

// Kubernetes object names: DNS-1123 labels and subdomains.
const k8sName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a Kubernetes object name (lowercase letters, digits, "-", ".")');

export const setParams = z.object({ namespace: k8sName, name: k8sName });

export const deleteQuery = z.object({
  purge: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});

export const MAX_FAILURES = 50;

export const statusSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  observedGeneration: z.number(),
  desired: z.number(),
  ready: z.number(),
  failed: z.number(),
  pending: z.number(),
  jobId: z.number().nullable(),
  jobStatus: z.enum(['pending', 'running', 'succeeded', 'failed']).nullable(),
  failures: z
    .array(z.object({ source: z.string(), version: z.string(), platform: z.string(), message: z.string() }))
    .max(MAX_FAILURES),
  resolvedVersions: z.array(z.string()),
  problems: z.array(z.string()),
  /** Not problems: e.g. resolved against held versions while the upstream was unreachable. */
  notices: z.array(z.string()).optional(),
  lastSyncTime: z.string().nullable(),
});
