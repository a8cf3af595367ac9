import { z } from 'zod';

/**
 * The request and status shapes of the operator's API. Only the envelope is
 * checked here; what a definition means (addresses, constraints, platforms)
 * is checked by parseDefinitions, so messages match every other way of
 * loading definitions.
 */

const deletionPolicy = z.enum(['Retain', 'Delete']);

// Loose: unknown keys reach parseDefinitions, which names them in its message.
const providerEntry = z
  .object({
    source: z.string(),
    versions: z.array(z.string()),
    latest: z.number().int().optional(),
    platforms: z.array(z.string()),
  })
  .loose();

export const providerSetSpec = z
  .object({
    providers: z.array(providerEntry).optional(),
    hcl: z.string().optional(),
    deletionPolicy: deletionPolicy.optional(),
  })
  .refine((s) => (s.providers === undefined) !== (s.hcl === undefined), {
    message: 'give exactly one of spec.providers or spec.hcl',
  });

export const providerMirrorSpec = z.object({
  source: z.string(),
  versions: z.array(z.string()),
  latest: z.number().int().optional(),
  platforms: z.array(z.string()),
  /** Read by the operator (how often it asks for a resync); stored here as sent. */
  syncInterval: z.string().optional(),
  deletionPolicy: deletionPolicy.optional(),
});

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
]);

export type ProviderSetSpec = z.infer<typeof providerSetSpec>;
export type ProviderMirrorSpec = z.infer<typeof providerMirrorSpec>;
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
  lastSyncTime: z.string().nullable(),
});
