import type { DefinitionFormat } from '../../providers/definitions/index.js';
import type { ProviderMirrorSpec, ProviderSetSpec } from './schemas.js';

export type SpecOf =
  | { kind: 'ProviderSet'; spec: ProviderSetSpec }
  | { kind: 'ProviderMirror'; spec: ProviderMirrorSpec };

/**
 * A custom resource's spec as a provider definitions document, so it is
 * parsed (and its mistakes reported) exactly as a loaded file would be.
 * Structured specs become the JSON form `{providers: [...]}`, pretty-printed
 * so problem positions point at a readable line; HCL is passed as written.
 */
export function definitionDocument(r: SpecOf): { text: string; format: DefinitionFormat } {
  if (r.kind === 'ProviderMirror') {
    const { source, versions, latest, platforms } = r.spec;
    return json([{ source, versions, ...(latest === undefined ? {} : { latest }), platforms }]);
  }
  if (r.spec.hcl !== undefined) return { text: r.spec.hcl, format: 'hcl' };
  return json(r.spec.providers ?? []);
}

function json(providers: unknown[]): { text: string; format: DefinitionFormat } {
  return { text: JSON.stringify({ providers }, null, 2), format: 'json' };
}
