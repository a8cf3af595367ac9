import test from 'ava';
import fc from 'fast-check';
import { InvalidInput } from '../../server/src/errors.js';
import { formatLocation, parseLocation } from '../../server/src/modules/source.js';
import type { ModuleLocation } from '../../server/src/modules/ports.js';

const BASE = 'https://registry.example.com/v1/modules/acme/net/aws/1.2.0/download';
const strict = { allowHttp: false };

interface Case {
  raw: string;
  expected: Record<string, unknown> & { kind: ModuleLocation['kind'] };
}

const accepted: Case[] = [
  {
    raw: 'git::https://github.com/terraform-aws-modules/terraform-aws-vpc?ref=v5.0.0',
    expected: { kind: 'git', url: 'https://github.com/terraform-aws-modules/terraform-aws-vpc', ref: 'v5.0.0' },
  },
  {
    raw: 'git::https://example.com/acme/net.git//modules/sub?ref=v1.2.0&depth=1',
    expected: {
      kind: 'git',
      url: 'https://example.com/acme/net.git',
      ref: 'v1.2.0',
      subdir: 'modules/sub',
      raw: 'git::https://example.com/acme/net.git//modules/sub?ref=v1.2.0',
    },
  },
  {
    raw: 'git::https://example.com:8443/acme/net.git',
    expected: { kind: 'git', url: 'https://example.com:8443/acme/net.git' },
  },
  {
    raw: 'git::https://example.com/acme/net.git?ref=0123456789abcdef0123456789abcdef01234567',
    expected: { kind: 'git', url: 'https://example.com/acme/net.git', ref: '0123456789abcdef0123456789abcdef01234567' },
  },
  {
    raw: 'github.com/acme/net?ref=v2',
    expected: { kind: 'git', url: 'https://github.com/acme/net.git', ref: 'v2' },
  },
  {
    raw: 'github.com/acme/net.git//sub',
    expected: { kind: 'git', url: 'https://github.com/acme/net.git', subdir: 'sub' },
  },
  {
    raw: 'https://example.com/files/net-1.2.0.tar.gz',
    expected: { kind: 'archive', url: 'https://example.com/files/net-1.2.0.tar.gz', format: 'tar.gz' },
  },
  {
    raw: 'https://example.com/files/net.TGZ//net-1.2.0?token=abc',
    expected: { kind: 'archive', url: 'https://example.com/files/net.TGZ?token=abc', format: 'tar.gz', subdir: 'net-1.2.0' },
  },
  {
    raw: 'https::https://example.com/net.zip',
    expected: { kind: 'archive', url: 'https://example.com/net.zip', format: 'zip' },
  },
  {
    raw: 'https://api.github.com/repos/acme/net/tarball/v1.2.0//*?archive=tar.gz',
    expected: { kind: 'archive', url: 'https://api.github.com/repos/acme/net/tarball/v1.2.0', format: 'tar.gz', subdir: '*' },
  },
  {
    raw: 'https://bucket.example.com/net.tar.gz?X-Amz-Credential=AKIA%2F2024%7Eeu&X-Amz-Signature=ab%2Bc*~&archive=tgz',
    expected: {
      kind: 'archive',
      url: 'https://bucket.example.com/net.tar.gz?X-Amz-Credential=AKIA%2F2024%7Eeu&X-Amz-Signature=ab%2Bc*~',
      format: 'tar.gz',
    },
  },
  {
    raw: `https://example.com/net.zip?checksum=SHA256:${'AB'.repeat(32)}&v=2`,
    expected: { kind: 'archive', url: 'https://example.com/net.zip?v=2', format: 'zip', checksum: `sha256:${'ab'.repeat(32)}` },
  },
  {
    raw: 'https://example.com/download?id=7&archive=zip',
    expected: { kind: 'archive', url: 'https://example.com/download?id=7', format: 'zip' },
  },
  {
    raw: './net-1.2.0.tar.gz//modules/sub',
    expected: {
      kind: 'archive',
      url: 'https://registry.example.com/v1/modules/acme/net/aws/1.2.0/net-1.2.0.tar.gz',
      format: 'tar.gz',
      subdir: 'modules/sub',
    },
  },
  {
    raw: '../../files/net.zip?sig=x',
    expected: { kind: 'archive', url: 'https://registry.example.com/v1/modules/acme/net/files/net.zip?sig=x', format: 'zip' },
  },
  {
    raw: '/archives/net.tar.gz//*',
    expected: { kind: 'archive', url: 'https://registry.example.com/archives/net.tar.gz', format: 'tar.gz', subdir: '*' },
  },
  {
    raw: '/../../../x.tgz',
    expected: { kind: 'archive', url: 'https://registry.example.com/x.tgz', format: 'tar.gz' },
  },
];

for (const c of accepted) {
  test(`location ${c.raw} parses to a ${c.expected.kind} location`, (t) => {
    const location = parseLocation(c.raw, BASE, strict);
    t.deepEqual(location, { raw: c.raw, ...c.expected } as ModuleLocation);
  });
}

test('http locations are accepted only when the upstream is configured over http', (t) => {
  t.throws(() => parseLocation('http://example.com/a.tar.gz', BASE, strict), { message: /plain http/ });
  t.throws(() => parseLocation('git::http://example.com/a.git', BASE, strict), { message: /plain http for git/ });
  t.like(parseLocation('git::http://example.com/a.git', BASE, { allowHttp: true }), { kind: 'git', url: 'http://example.com/a.git' });
  t.like(parseLocation('./a.zip', 'http://127.0.0.1:8080/v1/x/download', { allowHttp: true }), {
    url: 'http://127.0.0.1:8080/v1/x/a.zip',
  });
});

const refused: [string, RegExp][] = [
  ['s3::https://s3.amazonaws.com/bucket/net.zip', /uses s3/],
  ['gcs::https://www.googleapis.com/storage/v1/bucket/net.zip', /uses gcs/],
  ['hg::https://example.com/repo', /uses hg/],
  ['file::/etc/modules', /uses file/],
  ['xyz::https://example.com/a.zip', /getter xyz::/],
  ['git::ssh://git@example.com/acme/net.git', /uses ssh for git/],
  ['ssh://git@example.com/acme/net.git', /uses ssh/],
  ['git@github.com:acme/net.git', /uses ssh \(git@host:path\)/],
  ['git::https://example.com/net.git?sshkey=AAAA', /sshkey/],
  ['https://user:secret@example.com/net.zip', /credentials/],
  ['git::https://token@example.com/net.git', /credentials/],
  ['bucket.s3.amazonaws.com/net.zip', /uses s3/],
  ['www.googleapis.com/storage/v1/b/net.zip', /uses gcs/],
  ['modules/net', /local path \(file\)/],
  ['C:\\modules\\net', /backslash/],
  ['https://example.com/net', /names no archive/],
  ['https://example.com/net.tar.xz', /tar\.xz archive/],
  ['https://example.com/net?archive=rar', /archive format "rar"/],
  ['ftp://example.com/net.zip', /scheme ftp:/],
  ['git::https://example.com/net.git?ref=--upload-pack=touch', /ref "--upload-pack=touch"/],
  ['git::https://example.com/net.git?ref=a..b', /not a valid git ref/],
  ['git::https://example.com/net.git//../escape', /subdirectory "..\/escape"/],
  ['https://example.com/net.zip//a/*', /only a leading \*/],
  ['//evil.example.com/net.zip', /network-path reference/],
  ['https://example.com/net.zip?checksum=sha256:abc', /checksum that is not/],
  ['https://example.com/net.zip?checksum=file:https://example.com/SHA256SUMS', /checksum that is not/],
  ['https://example.com/net.zip?checksum=crc32:00000000', /checksum that is not/],
  ['', /is empty/],
];

for (const [raw, message] of refused) {
  test(`location ${JSON.stringify(raw)} is refused naming the reason`, (t) => {
    const err = t.throws(() => parseLocation(raw, BASE, strict), { instanceOf: InvalidInput });
    t.regex(err!.message, message);
    t.true(err!.message.startsWith('module location '));
  });
}

test('a refused location with credentials does not repeat the password', (t) => {
  const err = t.throws(() => parseLocation('https://user:secret@example.com/net.zip', BASE, strict));
  t.false(err!.message.includes('secret'));
});

const segment = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,8}$/).filter((s) => s !== '.' && s !== '..' && !s.includes('..'));
const host = fc.constantFrom('example.com', 'github.com', 'git.example.org:8443', '127.0.0.1:4000');
const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((p) => p.join('/'));
const subdir = fc.option(
  fc.oneof(path, fc.constant('*'), path.map((p) => `*/${p}`)),
  { nil: undefined },
);
const ref = fc.option(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,20}[A-Za-z0-9]$/).filter((r) => !r.includes('..') && !r.includes('//') && !r.endsWith('.lock')),
  { nil: undefined },
);

test('parse, format, parse gives the same location for generated git and archive locations', (t) => {
  const gitCase = fc.record({ host, path, subdir, ref }).map(({ host, path, subdir, ref }) => {
    let raw = `git::https://${host}/${path}.git`;
    if (subdir !== undefined) raw += `//${subdir}`;
    if (ref !== undefined) raw += `?ref=${encodeURIComponent(ref)}`;
    return raw;
  });
  const archiveCase = fc
    .record({
      host,
      path,
      subdir,
      ext: fc.constantFrom('.tar.gz', '.tgz', '.zip', ''),
      query: fc.option(fc.stringMatching(/^[a-z]{1,5}=[a-z0-9]{1,5}$/), { nil: undefined }),
      checksum: fc.option(fc.constantFrom(`sha256:${'A'.repeat(64)}`, `md5:${'0'.repeat(32)}`), { nil: undefined }),
    })
    .map(({ host, path, subdir, ext, query, checksum }) => {
      const params = [query, ext === '' ? 'archive=zip' : undefined, checksum && `checksum=${checksum}`].filter((p) => p !== undefined);
      return `https://${host}/${path}${ext}${subdir === undefined ? '' : `//${subdir}`}${params.length ? `?${params.join('&')}` : ''}`;
    });
  fc.assert(
    fc.property(fc.oneof(gitCase, archiveCase), (raw) => {
      const first = parseLocation(raw, BASE, strict);
      const formatted = formatLocation(first);
      const second = parseLocation(formatted, BASE, strict);
      const { raw: _a, ...a } = first;
      const { raw: _b, ...b } = second;
      t.deepEqual(b, a, `${raw} → ${formatted}`);
      t.is(formatLocation(second), formatted);
    }),
    { numRuns: 300 },
  );
});
