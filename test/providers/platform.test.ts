import test from 'ava';
import { InvalidInput } from '../../server/src/errors.js';
import { formatPlatform, parsePlatform, platformOf } from '../../server/src/providers/platform.js';

const valid: [string, string, string][] = [
  ['linux_amd64', 'linux', 'amd64'],
  ['darwin_arm64', 'darwin', 'arm64'],
  ['windows_386', 'windows', '386'],
  ['freebsd_arm', 'freebsd', 'arm'],
  ['openbsd_amd64', 'openbsd', 'amd64'],
  ['solaris_amd64', 'solaris', 'amd64'],
  ['netbsd_amd64', 'netbsd', 'amd64'],
  ['linux_ppc64le', 'linux', 'ppc64le'],
  ['linux_s390x', 'linux', 's390x'],
  ['linux_riscv64', 'linux', 'riscv64'],
  ['linux_mips64le', 'linux', 'mips64le'],
];
for (const [s, os, arch] of valid) {
  test(`platform ${s} parses and formats back`, (t) => {
    const p = parsePlatform(s);
    t.deepEqual(p, { os, arch });
    t.is(formatPlatform(p), s);
  });
}

const invalid: [string, RegExp][] = [
  ['linux', /expected os_arch/],
  ['linux_amd64_v2', /expected os_arch/],
  ['', /expected os_arch/],
  ['Linux_amd64', /unknown operating system "Linux": expected one of darwin, freebsd, linux/],
  ['plan9_amd64', /unknown operating system "plan9"/],
  ['linux_amd46', /unknown architecture "amd46": expected one of 386, amd64, arm, arm64/],
  ['linux_', /unknown architecture ""/],
  ['../_amd64', /unknown operating system/],
];
for (const [s, message] of invalid) {
  test(`platform ${JSON.stringify(s)} is rejected naming the allowed values`, (t) => {
    const err = t.throws(() => parsePlatform(s), { instanceOf: InvalidInput });
    t.regex(err.message, message);
  });
}

test('platformOf validates separately given os and arch', (t) => {
  t.deepEqual(platformOf('linux', 'arm64'), { os: 'linux', arch: 'arm64' });
  const err = t.throws(() => platformOf('linux', 'x86_64'), { instanceOf: InvalidInput });
  t.is(err.details.key, 'arch');
});
