import test from 'ava';
import type { z } from 'zod';
import {
  CRDS,
  MODULES_XOR_HCL,
  moduleSetCrd,
  moduleSetSpec,
  PROVIDERS_XOR_HCL,
  providerMirrorCrd,
  providerMirrorSpec,
  providerSetCrd,
  providerSetSpec,
} from '../../operator/src/api/v1alpha1.js';
import * as serverSchemas from '../../server/src/admin/provider-sets/schemas.js';
import { type CelEquivalent, validate } from './structural.js';

const CEL: Record<string, CelEquivalent> = {
  [PROVIDERS_XOR_HCL.cel.rule]: PROVIDERS_XOR_HCL.holds,
  [MODULES_XOR_HCL.cel.rule]: MODULES_XOR_HCL.holds,
};

test('the server validates provider-set bodies with the custom resources\' own spec definitions', (t) => {
  t.is(serverSchemas.providerSetSpec, providerSetSpec.zod);
  t.is(serverSchemas.providerMirrorSpec, providerMirrorSpec.zod);
});

test('the CRDs carry the same spec definitions the server checks', (t) => {
  t.is(providerSetCrd.schema.properties?.spec, providerSetSpec.json);
  t.is(providerMirrorCrd.schema.properties?.spec, providerMirrorSpec.json);
  t.is(moduleSetCrd.schema.properties?.spec, moduleSetSpec.json);
  t.is(CRDS.length, 3);
});

const aws = { source: 'hashicorp/aws', versions: ['5.31.0'], platforms: ['linux_amd64'] };

interface Case {
  name: string;
  spec: Record<string, unknown>;
  /** Refused by the CRD (apiserver) and by the server alike, or only by the CRD (the definitions parser refuses it later, in its own words). */
  refusedBy: 'both' | 'crd-only' | 'neither';
}

const setCases: Case[] = [
  { name: 'providers', spec: { providers: [aws] }, refusedBy: 'neither' },
  { name: 'hcl', spec: { hcl: 'provider "hashicorp/aws" {}' }, refusedBy: 'neither' },
  { name: 'both providers and hcl', spec: { providers: [aws], hcl: 'x' }, refusedBy: 'both' },
  { name: 'neither providers nor hcl', spec: {}, refusedBy: 'both' },
  { name: 'an empty providers list', spec: { providers: [] }, refusedBy: 'both' },
  { name: 'an unknown deletionPolicy', spec: { providers: [aws], deletionPolicy: 'Purge' }, refusedBy: 'both' },
  { name: 'hcl over 256 KiB', spec: { hcl: 'x'.repeat(256 * 1024 + 1) }, refusedBy: 'both' },
  { name: 'a provider without versions', spec: { providers: [{ source: 'hashicorp/aws', platforms: ['linux_amd64'] }] }, refusedBy: 'both' },
  { name: 'versions that are not a list', spec: { providers: [{ ...aws, versions: '5.31.0' }] }, refusedBy: 'both' },
  { name: 'a fractional latest', spec: { providers: [{ ...aws, latest: 1.5 }] }, refusedBy: 'both' },
  { name: 'an unknown platform', spec: { providers: [{ ...aws, platforms: ['plan9_amd64'] }] }, refusedBy: 'crd-only' },
  { name: 'a malformed source', spec: { providers: [{ ...aws, source: 'not an address' }] }, refusedBy: 'crd-only' },
  { name: 'a malformed constraint', spec: { providers: [{ ...aws, versions: ['~> banana'] }] }, refusedBy: 'crd-only' },
  { name: 'latest over 100', spec: { providers: [{ ...aws, latest: 101 }] }, refusedBy: 'crd-only' },
];

const mirrorCases: Case[] = [
  { name: 'a complete mirror', spec: { ...aws, syncInterval: '6h', deletionPolicy: 'Delete' }, refusedBy: 'neither' },
  { name: 'a mirror without platforms', spec: { source: 'hashicorp/aws', versions: ['5.31.0'] }, refusedBy: 'both' },
  { name: 'a mirror with an unknown deletionPolicy', spec: { ...aws, deletionPolicy: 'Sometimes' }, refusedBy: 'both' },
  { name: 'a mirror with a malformed syncInterval', spec: { ...aws, syncInterval: 'hourly' }, refusedBy: 'crd-only' },
];

const vpc = { source: 'terraform-aws-modules/vpc/aws', versions: ['~> 5.0'] };

const moduleSetCases: Case[] = [
  { name: 'modules', spec: { modules: [vpc], deletionPolicy: 'Delete' }, refusedBy: 'neither' },
  { name: 'modules with latest', spec: { modules: [{ ...vpc, latest: 2 }] }, refusedBy: 'neither' },
  { name: 'hcl', spec: { hcl: 'module "terraform-aws-modules/vpc/aws" {}' }, refusedBy: 'neither' },
  { name: 'both modules and hcl', spec: { modules: [vpc], hcl: 'x' }, refusedBy: 'both' },
  { name: 'neither modules nor hcl', spec: {}, refusedBy: 'both' },
  { name: 'an empty modules list', spec: { modules: [] }, refusedBy: 'both' },
  { name: 'a module without versions', spec: { modules: [{ source: vpc.source }] }, refusedBy: 'both' },
  { name: 'an unknown deletionPolicy', spec: { modules: [vpc], deletionPolicy: 'Purge' }, refusedBy: 'both' },
  { name: 'a provider address as source', spec: { modules: [{ ...vpc, source: 'hashicorp/aws' }] }, refusedBy: 'crd-only' },
  { name: 'a malformed constraint', spec: { modules: [{ ...vpc, versions: ['^5'] }] }, refusedBy: 'crd-only' },
];

function run(kind: string, cases: Case[], crdSpec: typeof providerSetSpec.json, check: z.ZodType) {
  for (const c of cases) {
    test(`${kind} spec with ${c.name}: refused by ${c.refusedBy}`, (t) => {
      const crdRefuses = validate(crdSpec, c.spec, CEL, 'spec').length > 0;
      const serverRefuses = !check.safeParse(c.spec).success;
      t.deepEqual({ crdRefuses, serverRefuses }, { crdRefuses: c.refusedBy !== 'neither', serverRefuses: c.refusedBy === 'both' });
    });
  }
}

run('ProviderSet', setCases, providerSetSpec.json, serverSchemas.providerSetSpec);
run('ProviderMirror', mirrorCases, providerMirrorSpec.json, serverSchemas.providerMirrorSpec);
run('ModuleSet', moduleSetCases, moduleSetSpec.json, moduleSetSpec.zod);

test('the server passes unknown keys of a provider on to the definitions parser, which names them', (t) => {
  const parsed = serverSchemas.providerSetSpec.parse({ providers: [{ ...aws, platfrom: 'x' }] }) as { providers: Record<string, unknown>[] };
  t.is(parsed.providers[0]?.platfrom, 'x');
});
