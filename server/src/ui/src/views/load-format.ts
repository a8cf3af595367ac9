import type { DefinitionType } from '../api';

export type Format = 'hcl' | 'yaml' | 'json' | 'lock';

export const FORMATS: Record<Format, { label: string; contentType: DefinitionType }> = {
  hcl: { label: 'HCL', contentType: 'text/plain' },
  yaml: { label: 'YAML', contentType: 'application/yaml' },
  json: { label: 'JSON', contentType: 'application/json' },
  // The server recognises a lock file by its content; it is HCL on the wire.
  lock: { label: 'Lock file', contentType: 'text/plain' },
};

/** A best guess from the file name, else the text; the user can always choose. */
export function detectFormat(text: string, fileName = ''): Format {
  const name = fileName.toLowerCase();
  if (name.endsWith('.lock.hcl')) return 'lock';
  if (name.endsWith('.yaml') || name.endsWith('.yml')) return 'yaml';
  if (name.endsWith('.json')) return 'json';
  const start = text.trimStart();
  if (start.startsWith('{') || start.startsWith('[')) return 'json';
  if (/^\s*provider\s+"[^"]+"\s*\{[^}]*\bhashes\s*=/m.test(text)) return 'lock';
  if (/^\s*(provider|module)\s+"/m.test(text)) return 'hcl';
  if (/^\s*(providers|modules)\s*:/m.test(text) || start.startsWith('-') || start.startsWith('---')) return 'yaml';
  return 'hcl';
}
