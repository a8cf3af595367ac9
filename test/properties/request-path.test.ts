/**
 * Property tests for the network mirror's request path parser: random and
 * mutated segments and raw paths parse to a typed result or NotFound, and
 * what parses is always safe to use as storage-key segments.
 */

import test from 'ava';
import fc from 'fast-check';
import { NotFound } from '../../server/src/errors.js';
import { parseMirrorPath, type MirrorPath } from '../../server/src/mirror/request-path.js';
import { isValidHostname, isValidNamespace, isValidType } from '../../server/src/providers/address.js';
import { isValidPackageFilename } from '../../server/src/providers/keys.js';
import { isValidVersion } from '../../server/src/providers/version.js';
import { smallVersion, validVersion } from './arbitraries.js';
import { assertProperty, outcome } from './helpers.js';
import { insertion, mutatedText } from './mutate.js';

// CPU time per case; pure string work anywhere near it is a regex or loop gone wrong.
const CPU_MS = 250;

const hostname = fc.constantFrom('registry.terraform.io', 'Registry.Terraform.IO', 'example.com:8443', 'xn--bcher-kva.example');
const name = fc.stringMatching(/^[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8})?$/);
const platform = fc.constantFrom('linux_amd64', 'darwin_arm64', 'windows_386');
const archive = fc
  .tuple(name, fc.oneof(smallVersion, validVersion), platform)
  .map(([type, v, p]) => `terraform-provider-${type}_${v}_${p}.zip`)
  .filter(isValidPackageFilename);
const file = fc.oneof(
  fc.constant('index.json'),
  fc.oneof(smallVersion, validVersion).map((v) => `${v}.json`),
  archive,
);

/** [hostname, namespace, type, file] or the 5-segment archive form with the version on its own. */
const validSegments: fc.Arbitrary<string[]> = fc.oneof(
  fc.tuple(hostname, name, name, file).map((s) => [...s]),
  fc.tuple(hostname, name, name, smallVersion, archive).map((s) => [...s]),
);

const segment = fc.oneof(
  name,
  insertion,
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '.', '..', '%2e%2e', 'index.json', '1.0.0.json', 'a.zip', 'x'.repeat(300), '\u0000'),
);
const anySegments = fc.oneof(
  fc.array(segment, { maxLength: 7 }),
  validSegments.chain((valid) =>
    fc.tuple(fc.nat(valid.length - 1), segment).map(([i, s]) => valid.map((v, n) => (n === i ? s : v))),
  ),
);

const encodeSome = (s: string): fc.Arbitrary<string> =>
  fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((flags) =>
    [...s].map((c, i) => (flags[i] ? encodeURIComponent(c) : c)).join(''),
  );
const validPath = validSegments.chain((segs) => fc.tuple(...segs.map(encodeSome))).map((segs) => `/${segs.join('/')}`);
const anyPath = fc.oneof(validPath, mutatedText(validPath), fc.string({ unit: 'binary', maxLength: 200 }));

test.serial('any segments parse to a mirror path or NotFound, and parsed parts are valid', async (t) => {
  await assertProperty(
    t,
    anySegments,
    async (segs) => {
      const r = await outcome(() => parseMirrorPath(segs), { cpuMs: CPU_MS, allowed: [NotFound] });
      if (r.ok) checkSafe(r.value);
    },
    { numRuns: 3000 },
  );
});

test.serial('any raw path, %-encoded or mutated, parses to a mirror path or NotFound', async (t) => {
  await assertProperty(
    t,
    anyPath,
    async (p) => {
      const r = await outcome(() => parseMirrorPath(p), { cpuMs: CPU_MS, allowed: [NotFound] });
      if (r.ok) checkSafe(r.value);
    },
    { numRuns: 3000 },
  );
});

test.serial('a valid path parses to its parts, lowercased, whatever is %-encoded', async (t) => {
  await assertProperty(
    t,
    validSegments.chain((segs) => fc.tuple(fc.constant(segs), fc.tuple(...segs.map(encodeSome)))),
    ([segs, encoded]) => {
      const parsed = parseMirrorPath(`/${encoded.join('/')}`);
      t.deepEqual(parsed, parseMirrorPath(segs));
      t.deepEqual(parsed.provider, { hostname: segs[0]!.toLowerCase(), namespace: segs[1]!.toLowerCase(), type: segs[2]!.toLowerCase() });
      const last = segs[segs.length - 1]!;
      const expected = last === 'index.json' ? 'index' : last.endsWith('.json') ? 'version' : 'archive';
      t.is(parsed.kind, expected);
    },
    { numRuns: 1500 },
  );
});

function checkSafe(p: MirrorPath): void {
  const { hostname: h, namespace, type } = p.provider;
  if (!isValidHostname(h) || !isValidNamespace(namespace) || !isValidType(type)) throw new Error(`unsafe provider ${JSON.stringify(p)}`);
  if ([h, namespace, type].some((s) => s !== s.toLowerCase())) throw new Error(`not lowercased: ${JSON.stringify(p)}`);
  if (p.kind === 'version' && !isValidVersion(p.version)) throw new Error(`bad version ${p.version}`);
  if (p.kind === 'archive') {
    if (!isValidPackageFilename(p.file)) throw new Error(`bad archive name ${p.file}`);
    if (p.version !== undefined && !isValidVersion(p.version)) throw new Error(`bad version ${p.version}`);
  }
}

// Hand-picked traversal shapes, kept as plain cases so they stay covered whatever the seed.
const refused = [
  '/registry.terraform.io/hashicorp/null/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/registry.terraform.io/%2e%2e/null/index.json',
  '/registry.terraform.io/hashicorp/null/%zz.json',
  '/registry.terraform.io/hashicorp/null/\uD800.json',
  '/registry.terraform.io/hashicorp/null/1.0.0/..%2fa.zip',
  '/registry.terraform.io/hashicorp/null%00/index.json',
];
for (const p of refused) {
  test(`NotFound for ${JSON.stringify(p)}`, (t) => {
    t.throws(() => parseMirrorPath(p), { instanceOf: NotFound });
  });
}
