/**
 * Property test of the network mirror's routes over real HTTP: random and
 * mutated URL paths (%-encoding, "..", NUL, very long segments) sent byte for
 * byte to an in-process server are answered 200, 304, 400 or 404 — never a
 * 5xx, never a stack trace — and the server keeps serving.
 */

import anyTest, { type TestFn } from 'ava';
import fc from 'fast-check';
import net from 'node:net';
import { startMirror, type MirrorUnderTest } from '../fixtures/mirror-server.js';
import { assertProperty } from './helpers.js';
import { insertion, mutatedText } from './mutate.js';

const test = anyTest as TestFn<{ m: MirrorUnderTest }>;

test.before(async (t) => {
  t.context.m = await startMirror([
    { namespace: 'hashicorp', type: 'null', versions: { '3.1.0': ['linux_amd64'], '3.2.0-rc1': ['darwin_arm64'] } },
  ]);
});
test.after.always(async (t) => t.context.m?.close());

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/**
 * One request on its own connection with the path written as raw bytes:
 * http.request refuses (and fetch normalizes) exactly the paths this test
 * is about. Bounded: a server that never answers fails the case.
 */
function send(baseUrl: string, rawPath: Buffer, extraHeaders = '', timeoutMs = 20_000): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      // The server may close before reading everything we wrote (e.g. after a 400); what it answered counts.
      if (chunks.length === 0) {
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body });
    });
    socket.write(Buffer.concat([Buffer.from('GET '), rawPath, Buffer.from(` HTTP/1.1\r\nHost: 127.0.0.1\r\n${extraHeaders}Connection: close\r\n\r\n`)]));
  });
}

const VALID_PATHS = [
  '/registry.terraform.io/hashicorp/null/index.json',
  '/registry.terraform.io/hashicorp/null/3.1.0.json',
  '/registry.terraform.io/hashicorp/null/3.2.0-rc1.json',
  '/registry.terraform.io/hashicorp/null/terraform-provider-null_3.1.0_linux_amd64.zip',
  '/registry.terraform.io/hashicorp/null/3.1.0/terraform-provider-null_3.1.0_linux_amd64.zip',
  '/Registry.Terraform.IO/HashiCorp/NULL/index.json',
];

const percentEncoded = fc
  .tuple(fc.constantFrom(...VALID_PATHS), fc.array(fc.nat(), { maxLength: 6 }))
  .map(([p, picks]) => {
    const chars = [...p];
    for (const i of picks) chars[i % chars.length] = encodeURIComponent(chars[i % chars.length]!).replace(/^\/$/, '%2F');
    return chars.join('');
  });
const longSegment = fc
  .tuple(fc.constantFrom(...VALID_PATHS), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 100, max: 20_000 }), fc.constantFrom('a', '.', '%2e', '-', '9'))
  .map(([p, n, len, unit]) => {
    const segs = p.split('/');
    segs[n] = unit.repeat(Math.ceil(len / unit.length));
    return segs.join('/');
  });
const traversal = fc
  .array(fc.constantFrom('..', '.', '%2e%2e', '%2E.', '..%2f', '..%5c', '%00', '', 'hashicorp', 'null', 'index.json', '%c0%ae'), {
    minLength: 1,
    maxLength: 8,
  })
  .map((segs) => `/${segs.join('/')}`);

const paths: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom(...VALID_PATHS).map((p) => Buffer.from(p)),
  mutatedText(fc.constantFrom(...VALID_PATHS)).map((p) => Buffer.from(p.startsWith('/') ? p : `/${p}`)),
  percentEncoded.map((p) => Buffer.from(p)),
  longSegment.map((p) => Buffer.from(p)),
  traversal.map((p) => Buffer.from(p)),
  fc.tuple(fc.constantFrom(...VALID_PATHS), insertion).map(([p, s]) => Buffer.from(`${p}${s}`)),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([Buffer.from('/registry.terraform.io/'), b])),
);

// 400 is Node's own answer to a request line it cannot parse (a space, CR or NUL in the path); 431 to one over
// its 16 KiB header limit. Every other answer comes from the mirror.
const ALLOWED = new Set([200, 304, 400, 404, 431]);

// Conditional requests reach the 304 branch; "*" matches whatever the ETag is.
const conditional = fc.constantFrom('', '', 'If-None-Match: *\r\n', 'If-None-Match: "nope"\r\n', 'If-None-Match: \r\n');

test.serial('random and mutated URL paths are answered 200, 304, 400 or 404, never 5xx', async (t) => {
  const base = t.context.m.serving.url;
  const seen = new Map<number, number>();
  await assertProperty(
    t,
    fc.tuple(paths, conditional),
    async ([raw, headers]) => {
      const res = await send(base, raw, headers);
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      if (!ALLOWED.has(res.status)) throw new Error(`${JSON.stringify(raw.toString('latin1'))} → ${res.status}\n${res.head}\n${res.body}`);
      if (/\bat .+:\d+:\d+/.test(res.body)) throw new Error(`stack trace in the body for ${JSON.stringify(raw.toString('latin1'))}`);
    },
    { numRuns: 400 },
  );
  t.log(`statuses: ${[...seen].sort().map(([s, n]) => `${s}×${n}`).join(', ')}`);
  const ok = await send(base, Buffer.from(VALID_PATHS[0]!));
  t.is(ok.status, 200, 'still serving after the run');
});
