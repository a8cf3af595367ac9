import type { DefinitionFormat } from '../../providers/definitions/index.js';
import type { ModuleSetSpec, ProviderMirrorSpec, ProviderSetSpec } from './schemas.js';

export type SpecOf =
  | { kind: 'ProviderSet'; spec: ProviderSetSpec }
  | { kind: 'ProviderMirror'; spec: ProviderMirrorSpec }
  | { kind: 'ModuleSet'; spec: ModuleSetSpec };

/**
 * A custom resource's spec as a provider definitions document, so it is
 * parsed (and its mistakes reported) exactly as a loaded file would be.
 * Structured specs become the JSON form `{providers: [...]}` (or
 * `{modules: [...]}`), pretty-printed
 * so problem positions point at a readable line; HCL is passed as written.
 */
export function definitionDocument(r: SpecOf): { text: string; format: DefinitionFormat } {
  if (r.kind === 'ProviderMirror') {
    const { source, versions, latest, platforms } = r.spec;
    return json({ providers: [{ source, versions, ...(latest === undefined ? {} : { latest }), platforms }] });
  }
  if (r.spec.hcl !== undefined) return { text: r.spec.hcl, format: 'hcl' };
  if (r.kind === 'ModuleSet') return json({ modules: r.spec.modules ?? [] });
  return json({ providers: r.spec.providers ?? [] });
}

function json(doc: { providers: unknown[] } | { modules: unknown[] }): { text: string; format: DefinitionFormat } {
  return { text: JSON.stringify(doc, null, 2), format: 'json' };
}
