import test from 'ava';
import { detectFormat, type DefinitionFormat } from '../../../server/src/providers/definitions/index.js';

const cases: { name: string; text: string; contentType?: string; filename?: string; format: DefinitionFormat }[] = [
  { name: 'a JSON content type wins over the text', text: 'providers: []', contentType: 'application/json; charset=utf-8', format: 'json' },
  { name: 'a +json content type is JSON', text: '', contentType: 'application/vnd.tfmirror+json', format: 'json' },
  { name: 'a YAML content type', text: '{}', contentType: 'application/yaml', format: 'yaml' },
  { name: 'an HCL content type', text: '{}', contentType: 'text/x-hcl', format: 'hcl' },
  { name: 'a generic content type falls back to the extension', text: '{}', contentType: 'text/plain', filename: 'a.hcl', format: 'hcl' },
  { name: 'a .yml file', text: '{}', filename: 'mirror.yml', format: 'yaml' },
  { name: 'a .json file', text: 'x', filename: 'dir/mirror.JSON', format: 'json' },
  { name: 'a .tf file is HCL', text: '', filename: 'mirror.tf', format: 'hcl' },
  { name: 'text starting with { is JSON', text: '\n  {"providers": []}', format: 'json' },
  { name: 'a provider block is HCL', text: '# mirror\nprovider "hashicorp/aws" {\n}\n', format: 'hcl' },
  { name: 'a // comment is HCL', text: '// nothing yet\n', format: 'hcl' },
  { name: 'anything else is YAML', text: '# comment\nproviders:\n  - source: a/b\n', format: 'yaml' },
  { name: 'an empty text is YAML', text: '', format: 'yaml' },
];

for (const c of cases) {
  test(`detectFormat: ${c.name}`, (t) => t.is(detectFormat(c.text, c.contentType, c.filename), c.format));
}
