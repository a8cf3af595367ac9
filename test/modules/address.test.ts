import test from 'ava';
import { InvalidInput } from '../../server/src/errors.js';
import { formatModuleAddress, moduleAddressFromParts, parseModuleAddress } from '../../server/src/modules/address.js';

const valid: [string, string][] = [
  ['terraform-aws-modules/vpc/aws', 'registry.terraform.io/terraform-aws-modules/vpc/aws'],
  ['registry.terraform.io/terraform-aws-modules/vpc/aws', 'registry.terraform.io/terraform-aws-modules/vpc/aws'],
  ['Registry.OpenTofu.org/Azure/aks_cluster/azurerm', 'registry.opentofu.org/Azure/aks_cluster/azurerm'],
  ['localhost:8443/acme/net/aws', 'localhost:8443/acme/net/aws'],
  ['example.com:443/acme/net/aws', 'example.com/acme/net/aws'],
  ['a/b/c', 'registry.terraform.io/a/b/c'],
  [`${'n'.repeat(64)}/${'m'.repeat(64)}/${'s'.repeat(64)}`, `registry.terraform.io/${'n'.repeat(64)}/${'m'.repeat(64)}/${'s'.repeat(64)}`],
];

for (const [text, expected] of valid) {
  test(`module address ${JSON.stringify(text)} parses to ${expected}`, (t) => {
    t.is(formatModuleAddress(parseModuleAddress(text)), expected);
  });
}

test('module address without a hostname takes the given default host', (t) => {
  t.is(formatModuleAddress(parseModuleAddress('acme/net/aws', 'mirror.example.com')), 'mirror.example.com/acme/net/aws');
});

const invalid: [string, RegExp][] = [
  ['vpc/aws', /expected \[hostname\/\]namespace\/name\/system/],
  ['a/b/c/d/e', /expected \[hostname\/\]namespace\/name\/system/],
  ['', /expected/],
  ['/vpc/aws', /invalid module namespace ""/],
  ['-acme/vpc/aws', /namespace "-acme"/],
  ['acme/vpc_/aws', /name "vpc_"/],
  ['acme/vpc/AWS', /system "AWS".*lowercase/],
  ['acme/vpc/aws-x', /system "aws-x"/],
  ['acme/v.pc/aws', /name "v.pc"/],
  [`${'n'.repeat(65)}/vpc/aws`, /namespace/],
  ['bad_host!/acme/vpc/aws', /hostname "bad_host!"/],
  ['example.com:0/acme/vpc/aws', /hostname/],
  ['acme/%2e%2e/aws', /name "%2e%2e"/],
];

for (const [text, message] of invalid) {
  test(`module address ${JSON.stringify(text)} is refused naming what is wrong`, (t) => {
    const err = t.throws(() => parseModuleAddress(text), { instanceOf: InvalidInput });
    t.regex(err!.message, message);
  });
}

test('module address from route parts refuses a part that is not a segment', (t) => {
  t.deepEqual(moduleAddressFromParts('Example.COM', 'acme', 'vpc', 'aws'), {
    hostname: 'example.com',
    namespace: 'acme',
    name: 'vpc',
    system: 'aws',
  });
  const err = t.throws(() => moduleAddressFromParts('example.com', 'acme', '..', 'aws'), { instanceOf: InvalidInput });
  t.regex(err!.message, /module name "\.\."/);
  t.is((err as InvalidInput).details.key, 'name');
});
