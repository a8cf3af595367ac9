/**
 * Which format a definitions document is in: the content type when it names
 * one, else the file extension, else a look at the text itself.
 */

import type { DefinitionFormat } from './types.js';

const BY_CONTENT_TYPE: Record<string, DefinitionFormat> = {
  'application/json': 'json',
  'text/json': 'json',
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/yaml': 'yaml',
  'text/x-yaml': 'yaml',
  'application/hcl': 'hcl',
  'application/x-hcl': 'hcl',
  'text/hcl': 'hcl',
  'text/x-hcl': 'hcl',
};

const BY_EXTENSION: Record<string, DefinitionFormat> = {
  json: 'json',
  yaml: 'yaml',
  yml: 'yaml',
  hcl: 'hcl',
  tf: 'hcl',
};

export function detectFormat(text: string, contentType?: string, filename?: string): DefinitionFormat {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  const byType = BY_CONTENT_TYPE[mediaType] ?? (mediaType.endsWith('+json') ? 'json' : undefined);
  if (byType) return byType;
  const extension = /\.([A-Za-z]+)$/.exec(filename ?? '')?.[1]?.toLowerCase() ?? '';
  const byExtension = BY_EXTENSION[extension];
  if (byExtension) return byExtension;
  return sniff(text);
}

/**
 * JSON starts with `{` or `[`; HCL has `provider "..." {` (or `module`) headers or `//`
 * comments, which YAML cannot; everything else is taken for YAML (whose
 * errors then explain what is wrong). Only the first 64 KiB are looked at.
 */
function sniff(text: string): DefinitionFormat {
  const head = text.slice(0, 65536).replace(/^\uFEFF/, '');
  const meaningful = head.replace(/^(\s*#[^\n]*\n)*\s*/, '');
  if (meaningful.startsWith('{') || meaningful.startsWith('[')) return 'json';
  if (/^\s*(provider|module)\s+"[^"\n]*"\s*\{/m.test(head) || /^\s*(\/\/|\/\*)/m.test(head)) return 'hcl';
  return 'yaml';
}
