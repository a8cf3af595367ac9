import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderCrds } from '../../operator/src/api/generate.js';
import type { JSONSchemaProps } from '../../operator/src/api/schema.js';
import {
  CRDS,
  KNOWN_ARCH,
  KNOWN_OS,
  MODULE_SOURCE_PATTERN,
  MODULES_XOR_HCL,
  moduleSetCrd,
  PROVIDERS_XOR_HCL,
  providerMirrorCrd,
  providerSetCrd,
  SOURCE_PATTERN,
  VERSION_CONSTRAINT_PATTERN,
} from '../../operator/src/api/v1alpha1.js';
import * as serverModuleAddress from '../../server/src/modules/address.js';
import * as serverAddress from '../../server/src/providers/address.js';
import * as serverConstraints from '../../server/src/providers/constraints.js';
import * as serverPlatform from '../../server/src/providers/platform.js';
import { readRepoFile, ROOT } from './helpers.js';
import { type CelEquivalent, validate, walk } from './structural.js';

const CEL: Record<string, CelEquivalent> = {
  [PROVIDERS_XOR_HCL.cel.rule]: (self) => ('providers' in self) !== ('hcl' in self),
  [MODULES_XOR_HCL.cel.rule]: (self) => ('modules' in self) !== ('hcl' in self),
};

const schemaOfKind: Record<string, JSONSchemaProps> = Object.fromEntries(CRDS.map((c) => [c.names.kind, c.schema]));

function accepts(pattern: string, s: string): boolean {
  return new RegExp(pattern).test(s);
}

function serverAccepts(parse: (s: string) => unknown, s: string): boolean {
  try {
    parse(s);
    return true;
  } catch {
    return false;
  }
}

test('generated CRD files are up to date (run npm run gen:crds)', (t) => {
  for (const [path, text] of Object.entries(renderCrds())) {
    let onDisk: string;
    try {
      onDisk = readRepoFile(path);
    } catch {
      t.fail(`${path} is missing: run npm run gen:crds`);
      continue;
    }
    t.true(onDisk === text, `${path} is stale: run npm run gen:crds`);
  }
});

test('the CRD schemas are structural: every node typed, patterns RE2-compatible, defaults valid', (t) => {
  for (const crd of CRDS) {
    for (const [path, node] of walk(crd.schema)) {
      t.truthy(node.type, `${crd.names.kind} ${path} has no type`);
      if (node.properties !== undefined) t.is(node.type, 'object', `${crd.names.kind} ${path}`);
      if (node.items !== undefined) t.is(node.type, 'array', `${crd.names.kind} ${path}`);
      for (const key of node.required ?? []) t.truthy(node.properties?.[key], `${path} requires unknown ${key}`);
      if (node.pattern !== undefined) {
        t.notRegex(node.pattern, /\(\?[=!<]|\\[1-9]/, `${path}: Go's RE2 has no lookaround or back-references`);
      }
      if (node.default !== undefined) t.deepEqual(validate(node, node.default, CEL), [], `${path} default`);
    }
  }
});

test('printer columns point at fields the schema defines', (t) => {
  for (const crd of CRDS) {
    for (const column of crd.printerColumns) {
      const path = column.jsonPath.replace(/\[\?.*$/, '').split('.').slice(1);
      if (path[0] === 'metadata') continue;
      let node: JSONSchemaProps | undefined = crd.schema;
      for (const key of path) node = node?.properties?.[key] ?? node?.items?.properties?.[key];
      t.truthy(node, `${crd.names.kind} column ${column.name}: ${column.jsonPath}`);
    }
  }
});

test('the platform enum lists the server\'s known platforms', (t) => {
  t.deepEqual([...KNOWN_OS], [...serverPlatform.KNOWN_OS]);
  t.deepEqual([...KNOWN_ARCH], [...serverPlatform.KNOWN_ARCH]);
});

test('short names do not shadow built-in resources', (t) => {
  const builtIn = ['cm', 'cs', 'csr', 'ds', 'deploy', 'ep', 'ev', 'hpa', 'ing', 'limits', 'netpol', 'no', 'ns', 'pc', 'pdb', 'po', 'psp', 'pv', 'pvc', 'quota', 'rc', 'rs', 'sa', 'sc', 'sts', 'svc', 'crd', 'crds'];
  for (const crd of CRDS) for (const s of crd.names.shortNames) t.false(builtIn.includes(s), s);
});

const sourceCases: { value: string; ok: boolean }[] = [
  { value: 'hashicorp/aws', ok: true },
  { value: 'HashiCorp/AWS', ok: true },
  { value: 'registry.terraform.io/hashicorp/aws', ok: true },
  { value: 'mirror.example.com:8443/acme/thing', ok: true },
  { value: 'xn--bcher-kva.example/acme/x', ok: true },
  { value: 'terraform-aws-modules/my-type', ok: true },
  { value: 'aws', ok: false },
  { value: 'a.example/b/c/d', ok: false },
  { value: 'hashicorp/-aws', ok: false },
  { value: 'hashicorp/aws-', ok: false },
  { value: 'hashi--corp/aws', ok: false },
  { value: 'hashicorp/aws_x', ok: false },
  { value: 'https://registry.terraform.io/hashicorp/aws', ok: false },
  { value: 'hashicorp/aws ', ok: false },
  { value: '', ok: false },
];
for (const c of sourceCases) {
  test(`source ${JSON.stringify(c.value)} is ${c.ok ? 'admitted' : 'refused'} by the schema, as by the server`, (t) => {
    t.is(accepts(SOURCE_PATTERN, c.value), c.ok, 'schema pattern');
    t.is(serverAccepts(serverAddress.parseSourceAddress, c.value), c.ok, 'server parser');
  });
}

const versionCases: { value: string; ok: boolean }[] = [
  { value: '5.31.0', ok: true },
  { value: '~> 5.40', ok: true },
  { value: '>= 1.0, < 2.0', ok: true },
  { value: '>=1.0,<2.0', ok: true },
  { value: '= 1.2', ok: true },
  { value: '!= 1.5.0', ok: true },
  { value: '1.0.0-rc1', ok: true },
  { value: '~> 1.2.0', ok: true },
  { value: '1', ok: true },
  { value: 'v5.31.0', ok: false },
  { value: '^1.2', ok: false },
  { value: '1.x', ok: false },
  { value: '1.2.3.4', ok: false },
  { value: '', ok: false },
  { value: '>= 1.0,', ok: false },
  { value: '1.0 || 2.0', ok: false },
  { value: '=> 1.0', ok: false },
  { value: '01.2', ok: false },
  { value: '~>', ok: false },
  { value: '>= 1.0 < 2.0', ok: false },
];
for (const c of versionCases) {
  test(`version ${JSON.stringify(c.value)} is ${c.ok ? 'admitted' : 'refused'} by the schema, as by the server`, (t) => {
    t.is(accepts(VERSION_CONSTRAINT_PATTERN, c.value), c.ok, 'schema pattern');
    t.is(serverAccepts(serverConstraints.parseConstraints, c.value), c.ok, 'server parser');
  });
}

function sampleFiles(): string[] {
  return readdirSync(join(ROOT, 'config/samples')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
}

test('every sample validates against its generated schema', (t) => {
  const kinds = new Set<string>();
  for (const file of sampleFiles()) {
    const doc = parse(readRepoFile(`config/samples/${file}`)) as { kind: string };
    const schema = schemaOfKind[doc.kind];
    if (schema === undefined) {
      t.fail(`${file}: unknown kind ${doc.kind}`);
      continue;
    }
    kinds.add(doc.kind);
    t.deepEqual(validate(schema, doc, CEL), [], file);
  }
  t.deepEqual([...kinds].sort(), ['ModuleSet', 'ProviderMirror', 'ProviderSet']);
});

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

type SampleKind = 'ProviderSet' | 'ProviderMirror' | 'ModuleSet';

function sample(kind: SampleKind): Doc {
  const file = sampleFiles().find((f) => f.endsWith(`_${kind.toLowerCase()}.yaml`));
  return parse(readRepoFile(`config/samples/${file}`)) as Doc;
}

const invalid: { name: string; kind: SampleKind; edit: (d: Doc) => void; error: RegExp }[] = [
  {
    name: 'a ProviderSet with both providers and hcl is refused',
    kind: 'ProviderSet',
    edit: (d) => (d.spec.hcl = 'provider "hashicorp/aws" {}'),
    error: /exactly one of spec.providers or spec.hcl/,
  },
  {
    name: 'a ProviderSet with neither providers nor hcl is refused',
    kind: 'ProviderSet',
    edit: (d) => delete d.spec.providers,
    error: /exactly one of spec.providers or spec.hcl/,
  },
  {
    name: 'an unknown platform is refused',
    kind: 'ProviderSet',
    edit: (d) => (d.spec.providers[0].platforms = ['linux_amd46']),
    error: /spec.providers\[0\].platforms\[0\]: "linux_amd46" is not one of/,
  },
  {
    name: 'an empty version list is refused',
    kind: 'ProviderSet',
    edit: (d) => (d.spec.providers[1].versions = []),
    error: /spec.providers\[1\].versions: fewer than 1 items/,
  },
  {
    name: 'latest 0 is refused',
    kind: 'ProviderMirror',
    edit: (d) => (d.spec.latest = 0),
    error: /spec.latest: 0 is less than 1/,
  },
  {
    name: 'latest above 100 is refused',
    kind: 'ProviderMirror',
    edit: (d) => (d.spec.latest = 101),
    error: /spec.latest: 101 is more than 100/,
  },
  {
    name: 'an npm-style range is refused',
    kind: 'ProviderMirror',
    edit: (d) => (d.spec.versions = ['^3.6.0']),
    error: /spec.versions\[0\]: "\^3.6.0" does not match/,
  },
  {
    name: 'a sync interval that is not a duration is refused',
    kind: 'ProviderMirror',
    edit: (d) => (d.spec.syncInterval = 'daily'),
    error: /spec.syncInterval: "daily" does not match/,
  },
  {
    name: 'an unknown deletion policy is refused',
    kind: 'ProviderMirror',
    edit: (d) => (d.spec.deletionPolicy = 'Orphan'),
    error: /spec.deletionPolicy: "Orphan" is not one of Retain, Delete/,
  },
  {
    name: 'a misspelt field is refused',
    kind: 'ProviderMirror',
    edit: (d) => (d.spec.platform = ['linux_amd64']),
    error: /spec: unknown field platform/,
  },
  {
    name: 'a ProviderMirror without a source is refused',
    kind: 'ProviderMirror',
    edit: (d) => delete d.spec.source,
    error: /spec: missing required field source/,
  },
  {
    name: 'duplicate platforms are refused',
    kind: 'ProviderMirror',
    edit: (d) => (d.spec.platforms = ['linux_amd64', 'linux_amd64']),
    error: /spec.platforms: duplicate entries/,
  },
  {
    name: 'a ModuleSet with both modules and hcl is refused',
    kind: 'ModuleSet',
    edit: (d) => (d.spec.hcl = 'module "terraform-aws-modules/vpc/aws" {}'),
    error: /exactly one of spec.modules or spec.hcl/,
  },
  {
    name: 'a ModuleSet with neither modules nor hcl is refused',
    kind: 'ModuleSet',
    edit: (d) => delete d.spec.modules,
    error: /exactly one of spec.modules or spec.hcl/,
  },
  {
    name: 'a ModuleSet module without versions is refused',
    kind: 'ModuleSet',
    edit: (d) => delete d.spec.modules[0].versions,
    error: /spec.modules\[0\]: missing required field versions/,
  },
  {
    name: 'a provider address as a module source is refused',
    kind: 'ModuleSet',
    edit: (d) => (d.spec.modules[0].source = 'hashicorp/aws'),
    error: /spec.modules\[0\].source: "hashicorp\/aws" does not match/,
  },
  {
    name: 'a ModuleSet with an unknown deletion policy is refused',
    kind: 'ModuleSet',
    edit: (d) => (d.spec.deletionPolicy = 'Orphan'),
    error: /spec.deletionPolicy: "Orphan" is not one of Retain, Delete/,
  },
];
for (const c of invalid) {
  test(c.name, (t) => {
    const doc = sample(c.kind);
    c.edit(doc);
    const errors = validate(schemaOfKind[c.kind]!, doc, CEL);
    t.true(
      errors.some((e) => c.error.test(e)),
      errors.join('\n'),
    );
  });
}

test('an HCL-only ProviderSet is admitted', (t) => {
  const doc = sample('ProviderSet');
  delete doc.spec.providers;
  doc.spec.hcl = 'provider "hashicorp/aws" {\n  versions  = ["~> 5.40"]\n  platforms = ["linux_amd64"]\n}\n';
  t.deepEqual(validate(providerSetCrd.schema, doc, CEL), []);
});

test('an HCL-only ModuleSet is admitted', (t) => {
  const doc = sample('ModuleSet');
  delete doc.spec.modules;
  doc.spec.hcl = 'module "terraform-aws-modules/vpc/aws" {\n  versions = ["~> 5.0"]\n}\n';
  t.deepEqual(validate(moduleSetCrd.schema, doc, CEL), []);
});

const moduleSourceCases: { value: string; ok: boolean }[] = [
  { value: 'terraform-aws-modules/vpc/aws', ok: true },
  { value: 'registry.terraform.io/terraform-aws-modules/vpc/aws', ok: true },
  { value: 'localhost:8443/acme/net_work/google', ok: true },
  { value: 'Acme/VPC/aws', ok: true },
  { value: 'acme/vpc/AWS', ok: false },
  { value: 'acme/vpc', ok: false },
  { value: 'a.example/acme/vpc/aws/x', ok: false },
  { value: 'acme/-vpc/aws', ok: false },
  { value: 'acme/vpc_/aws', ok: false },
  { value: 'acme/vpc/aws-x', ok: false },
  { value: 'git::https://example.com/vpc.git', ok: false },
  { value: '', ok: false },
];
for (const c of moduleSourceCases) {
  test(`module source ${JSON.stringify(c.value)} is ${c.ok ? 'admitted' : 'refused'} by the schema, as by the server`, (t) => {
    t.is(accepts(MODULE_SOURCE_PATTERN, c.value), c.ok, 'schema pattern');
    t.is(serverAccepts(serverModuleAddress.parseModuleAddress, c.value), c.ok, 'server parser');
  });
}

test('a status written by the controller validates, conditions keyed by type', (t) => {
  const doc = sample('ProviderMirror');
  const condition = {
    type: 'Ready',
    status: 'True',
    observedGeneration: 3,
    lastTransitionTime: '2025-01-02T03:04:05Z',
    reason: 'Mirrored',
    message: 'all 4 packages are held',
  };
  doc.status = {
    observedGeneration: 3,
    conditions: [condition, { ...condition, type: 'Progressing', status: 'False', reason: 'Idle' }],
    desired: 4,
    ready: 3,
    failed: 1,
    failures: [{ source: 'hashicorp/random', version: '3.6.3', platform: 'darwin_arm64', message: 'checksum mismatch' }],
    lastSyncTime: '2025-01-02T03:04:05Z',
    resolvedVersions: ['3.7.1', '3.6.3'],
  };
  t.deepEqual(validate(providerMirrorCrd.schema, doc, CEL), []);
  doc.status.conditions.push({ ...condition, reason: 'Bad reason!' });
  const errors = validate(providerMirrorCrd.schema, doc, CEL);
  t.true(errors.some((e) => /status.conditions: duplicate entries/.test(e)));
  t.true(errors.some((e) => /status.conditions\[2\].reason/.test(e)));
});
