import test from 'ava';
import { InvalidInput } from '../../../server/src/errors.js';
import { isLockFile, lockAccepts, parseDefinitions } from '../../../server/src/providers/definitions/index.js';
import { parsePlatform } from '../../../server/src/providers/platform.js';

const H1 = 'h1:' + 'A'.repeat(43) + '=';
const ZH = 'zh:' + 'ab'.repeat(32);
const ZH2 = 'zh:' + 'cd'.repeat(32);
const LOCK = `# This file is maintained automatically by "terraform init".
# Manual edits may be lost in future updates.

provider "registry.terraform.io/hashicorp/null" {
  version     = "3.2.1"
  constraints = "~> 3.2"
  hashes = [
    "${H1}",
    "${ZH}",
  ]
}

provider "registry.terraform.io/acme/tool" {
  version = "1.0.0"
  hashes = [
    "${ZH2}",
  ]
}
`;
const linux = [parsePlatform('linux_amd64')];

test('a lock file becomes one definition per provider: exactly the pinned version, the named platforms, the pinned hashes', async (t) => {
  const defs = (await parseDefinitions(LOCK, { format: 'auto', file: '.terraform.lock.hcl', platforms: [...linux, parsePlatform('darwin_arm64')] })).providers;
  t.deepEqual(
    defs.map((d) => ({ source: d.source, versions: d.versions, platforms: d.platforms.map((p) => `${p.os}_${p.arch}`), hashes: d.hashes, line: d.position?.line })),
    [
      { source: 'registry.terraform.io/hashicorp/null', versions: [{ text: '3.2.1', exact: '3.2.1' }], platforms: ['linux_amd64', 'darwin_arm64'], hashes: [H1, ZH], line: 4 },
      { source: 'registry.terraform.io/acme/tool', versions: [{ text: '1.0.0', exact: '1.0.0' }], platforms: ['linux_amd64', 'darwin_arm64'], hashes: [ZH2], line: 13 },
    ],
  );
});

test('a lock file is recognised by content under any name, and by its name', (t) => {
  t.true(isLockFile(LOCK, 'body'));
  t.true(isLockFile('', 'some/dir/.terraform.lock.hcl'));
  t.false(isLockFile('provider "hashicorp/null" {\n  versions  = ["3.2.1"]\n  platforms = ["linux_amd64"]\n}\n', 'defs.hcl'));
  t.false(isLockFile('provider "hashicorp/null" {\n  version   = "3.2.1"\n  platforms = ["linux_amd64"]\n}\n', 'defs.hcl'), 'a typo of versions stays a definition');
});

test('a lock file without platforms is refused with a message saying how to name them', async (t) => {
  const err = await t.throwsAsync(parseDefinitions(LOCK, { format: 'auto', file: '.terraform.lock.hcl' }), { instanceOf: InvalidInput });
  t.regex(err!.message, /^\.terraform\.lock\.hcl:1:1: a lock file pins versions and hashes but no platforms: .*--platform linux_amd64/);
});

const bad: { name: string; text: string; message: RegExp }[] = [
  {
    name: 'a version constraint where the lock pins a version',
    text: `provider "registry.terraform.io/hashicorp/null" {\n  version = "~> 3.2"\n  hashes  = ["${ZH}"]\n}\n`,
    message: /^lock:2:\d+: provider "registry\.terraform\.io\/hashicorp\/null"\.version: expected the exact version the lock pins/,
  },
  {
    name: 'a hash of an unknown scheme or malformed',
    text: `provider "registry.terraform.io/hashicorp/null" {\n  version = "3.2.1"\n  hashes  = [\n    "${ZH}",\n    "sha256:abc",\n  ]\n}\n`,
    message: /^lock:5:\d+: provider "registry\.terraform\.io\/hashicorp\/null"\.hashes\[1\]: expected an "h1:" \(base64 SHA-256\) or "zh:" \(hex SHA-256\) hash, got string "sha256:abc"/,
  },
  {
    name: 'a missing version',
    text: `provider "registry.terraform.io/hashicorp/null" {\n  hashes = ["${ZH}"]\n}\n`,
    message: /^lock:1:\d+: provider "registry\.terraform\.io\/hashicorp\/null": missing required key "version"/,
  },
  {
    name: 'an invalid source address',
    text: `provider "registry.terraform.io/Bad Name/null" {\n  version = "3.2.1"\n  hashes = ["${ZH}"]\n}\n`,
    message: /^lock:1:\d+: provider "registry\.terraform\.io\/Bad Name\/null": /,
  },
];
for (const c of bad) {
  test(`lock file errors name line and column: ${c.name}`, async (t) => {
    const err = await t.throwsAsync(parseDefinitions(c.text, { format: 'hcl', file: 'lock', platforms: linux }), { instanceOf: InvalidInput });
    t.regex(err!.message, c.message);
    t.is(err!.details?.file, 'lock');
    t.true(typeof err!.details?.line === 'number');
  });
}

test('a package passes the lock when its zh or one of its h1 is listed, and fails only when the lock has hashes and none match', (t) => {
  const sha256 = 'ab'.repeat(32);
  t.true(lockAccepts([H1, ZH], { sha256, h1: [] }), 'zh listed');
  t.true(lockAccepts([H1, ZH2], { sha256: 'ef'.repeat(32), h1: [H1] }), 'h1 listed');
  t.false(lockAccepts([ZH2], { sha256, h1: [H1] }), 'neither listed');
  t.true(lockAccepts([], { sha256, h1: [] }), 'no hashes: nothing to check');
});
