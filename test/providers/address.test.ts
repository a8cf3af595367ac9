import test from 'ava';
import { InvalidInput } from '../../server/src/errors.js';
import {
  formatAddress,
  isValidHostname,
  isValidNamespace,
  isValidType,
  normalizeAddress,
  parseSourceAddress,
} from '../../server/src/providers/address.js';

const valid: [string, string][] = [
  ['hashicorp/aws', 'registry.terraform.io/hashicorp/aws'],
  ['HashiCorp/AWS', 'registry.terraform.io/hashicorp/aws'],
  ['registry.terraform.io/hashicorp/random', 'registry.terraform.io/hashicorp/random'],
  ['Registry.OpenTofu.org/hashicorp/null', 'registry.opentofu.org/hashicorp/null'],
  ['mirror.example.com:8443/acme/thing', 'mirror.example.com:8443/acme/thing'],
  ['example.com:443/acme/thing', 'example.com/acme/thing'],
  ['example.com:08443/acme/thing', 'example.com:8443/acme/thing'],
  ['localhost/acme/thing', 'localhost/acme/thing'],
  ['xn--bcher-kva.example/acme/thing', 'xn--bcher-kva.example/acme/thing'],
  ['my-org/my-provider2', 'registry.terraform.io/my-org/my-provider2'],
  ['a/b', 'registry.terraform.io/a/b'],
  [`${'n'.repeat(64)}/${'t'.repeat(64)}`, `registry.terraform.io/${'n'.repeat(64)}/${'t'.repeat(64)}`],
];

for (const [source, expected] of valid) {
  test(`source address ${JSON.stringify(source)} parses to ${expected}`, (t) => {
    t.is(formatAddress(parseSourceAddress(source)), expected);
  });
}

const invalid: [string, RegExp][] = [
  ['aws', /expected \[hostname\/\]namespace\/type/],
  ['a/b/c/d', /expected \[hostname\/\]namespace\/type/],
  ['', /expected \[hostname\/\]namespace\/type/],
  ['hashicorp/', /invalid provider type ""/],
  ['/aws', /invalid provider namespace ""/],
  ['-hashicorp/aws', /namespace "-hashicorp".*no leading, trailing or consecutive dashes/],
  ['hashicorp/aws-', /type "aws-"/],
  ['hashi--corp/aws', /consecutive dashes/],
  ['hashi_corp/aws', /ASCII letters, digits and dashes/],
  ['hashicorp/a.ws', /type "a.ws"/],
  ['hashicorp/bücher', /type "bücher"/],
  [`${'n'.repeat(65)}/aws`, /at most 64 characters/],
  ['exa_mple.com/a/b', /hostname "exa_mple.com".*punycode/],
  ['bücher.example/a/b', /hostname/],
  ['example.com:0/a/b', /hostname/],
  ['example.com:65536/a/b', /hostname/],
  ['example.com:/a/b', /hostname/],
  ['-example.com/a/b', /hostname/],
  ['example..com/a/b', /hostname/],
  ['../a/b', /hostname/],
  ['hashicorp/aws ', /type "aws "/],
];

for (const [source, message] of invalid) {
  test(`source address ${JSON.stringify(source)} is rejected with InvalidInput`, (t) => {
    const err = t.throws(() => parseSourceAddress(source), { instanceOf: InvalidInput });
    t.regex(err.message, message);
  });
}

const hostileSegments = ['', '.', '..', 'a/b', 'a\\b', 'a%2fb', '%2e%2e', 'a\0b', ' a', 'a b', 'a?b', 'a#b'];
for (const s of hostileSegments) {
  test(`path segment ${JSON.stringify(s)} is rejected by every segment validator`, (t) => {
    t.false(isValidHostname(s));
    t.false(isValidNamespace(s));
    t.false(isValidType(s));
  });
}

test('segment validators accept any letter case', (t) => {
  t.true(isValidHostname('Registry.Terraform.IO'));
  t.true(isValidNamespace('HashiCorp'));
  t.true(isValidType('AWS'));
});

test('hostname labels longer than 63 characters are rejected', (t) => {
  t.true(isValidHostname(`${'a'.repeat(63)}.com`));
  t.false(isValidHostname(`${'a'.repeat(64)}.com`));
});

test('normalizeAddress lowercases every part', (t) => {
  t.deepEqual(normalizeAddress({ hostname: 'Example.COM', namespace: 'Acme', type: 'Thing' }), {
    hostname: 'example.com',
    namespace: 'acme',
    type: 'thing',
  });
});

test('normalizeAddress reports which part is invalid in details.key', (t) => {
  const err = t.throws(() => normalizeAddress({ hostname: 'example.com', namespace: 'ok', type: '..' }), {
    instanceOf: InvalidInput,
  });
  t.is(err.details.key, 'type');
});
