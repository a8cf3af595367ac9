/**
 * Property tests for the zip inspector: valid archives built with yazl (and
 * the raw writer), then mutated byte by byte — bit flips, header fields set to
 * 0/0xFFFF/0xFFFFFFFF, truncation, insertion, duplicated ranges — and written
 * to temp files, give an inspection or IntegrityError/LimitExceeded, in
 * bounded time and memory; valid archives hash as Terraform would.
 */

import test from 'ava';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError, LimitExceeded } from '../../server/src/errors.js';
import { inspectZip, type InspectZipLimits } from '../../server/src/packages/inspect-zip.js';
import { writeRawZip, writeZip, type ZipFixtureEntry } from '../fixtures/zips.js';
import { assertProperty, outcome } from './helpers.js';
import { mutatedBytes } from './mutate.js';

// Small limits, so a mutated size field is refused rather than inflated for real.
const limits: InspectZipLimits = { maxEntries: 64, maxUncompressedBytes: 4 * 1024 * 1024, maxRatio: 100 };
const ALLOWED = [IntegrityError, LimitExceeded] as const;
const CPU_MS = 2000;

let dir = '';
let counter = 0;
const tmp = (): string => join(dir, `${counter++}.zip`);

test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

const safeName = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9_.-]{0,12}$/),
  fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.stringMatching(/^[a-z0-9][a-z0-9.]{0,7}$/)).map(([d, f]) => `${d}/${f}`),
  fc.constantFrom('terraform-provider-null_v3.2.0_x5', 'LICENSE', 'README.md', 'd\u00e9j\u00e0.txt', '\u{1F600}.bin'),
);
const content = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
  fc.tuple(fc.constantFrom('x', ' ', '\0', 'ab'), fc.integer({ min: 0, max: 20_000 })).map(([c, n]) => Buffer.from(c.repeat(n))),
);
const entries: fc.Arbitrary<ZipFixtureEntry[]> = fc
  .uniqueArray(fc.record({ name: safeName, content, compress: fc.boolean() }), { minLength: 1, maxLength: 6, selector: (e) => e.name })
  // A file "a" next to a directory "a/" would be refused (or not) for reasons this test is not about.
  .filter((es) => !es.some((e) => es.some((o) => o.name.startsWith(`${e.name}/`))));
const withDirectories: fc.Arbitrary<ZipFixtureEntry[]> = entries.map((es) => {
  const dirs = new Set(es.flatMap((e) => (e.name.includes('/') ? [`${e.name.split('/')[0]}/`] : [])));
  return [...[...dirs].map((name): ZipFixtureEntry => ({ name, content: '' })), ...es];
});

async function zipBytes(es: readonly ZipFixtureEntry[], raw: boolean): Promise<Buffer> {
  const file = tmp();
  if (raw) await writeRawZip(file, es.map((e) => ({ name: e.name, content: e.content, method: e.compress === false ? 0 : 8 })));
  else await writeZip(file, es);
  return readFile(file);
}

/** A handful of valid archives to mutate, built once (yazl is not fast enough to build one per case). */
let seeds: Buffer[] = [];
// One hook: ava runs before hooks concurrently, and the seeds need the directory.
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfm-zip-props-'));
  const samples = fc.sample(fc.oneof(entries, withDirectories), { seed: 7, numRuns: 12 });
  seeds = await Promise.all(samples.map((es, i) => zipBytes(es, i % 3 === 2)));
});

async function inspectBytes(bytes: Buffer) {
  const file = tmp();
  await writeFile(file, bytes);
  try {
    return await outcome(() => inspectZip(file, limits), { cpuMs: CPU_MS, allowed: ALLOWED });
  } finally {
    await rm(file, { force: true });
  }
}

// Linux only; elsewhere the check is vacuous.
const openFiles = (): number => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);

test.serial('mutated zip archives give an inspection, IntegrityError or LimitExceeded, and close their files', async (t) => {
  const seen = new Map<string, number>();
  const filesBefore = openFiles();
  await assertProperty(
    t,
    mutatedBytes(fc.integer({ min: 0, max: seeds.length - 1 }).map((i) => seeds[i]!)),
    async (bytes) => {
      const r = await inspectBytes(bytes);
      const kind = r.ok ? 'inspected' : r.error.name;
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
      if (!r.ok) {
        // The inspector wraps whatever yauzl throws; a TypeError or RangeError inside is still a crash.
        const cause = (r.error as Error & { cause?: unknown }).cause;
        if (cause instanceof TypeError || cause instanceof RangeError) throw cause;
        return;
      }
      if (r.value.uncompressedBytes > limits.maxUncompressedBytes) throw new Error('inflated past the limit');
      if (r.value.entries > limits.maxEntries) throw new Error('more entries than the limit');
    },
    { numRuns: 600 },
  );
  t.log(`outcomes: ${[...seen].map(([k, n]) => `${k}×${n}`).join(', ')}`);
  // Every path through the inspector, error or not, closes the archive.
  t.true(openFiles() <= filesBefore + 2, `${openFiles() - filesBefore} more open files than before the run`);
});

test.serial('random bytes, and random bytes behind a zip signature, never crash the inspector', async (t) => {
  const eocd = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
  await assertProperty(
    t,
    fc.oneof(
      fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
      fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 18, maxLength: 40 })).map(([a, b]) => Buffer.concat([a, eocd, b])),
    ),
    async (bytes) => {
      await inspectBytes(bytes);
    },
    { numRuns: 400 },
  );
});

const sha256Hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

test.serial('a valid archive lists every entry with its size and sha256, in order', async (t) => {
  await assertProperty(
    t,
    fc.tuple(fc.oneof(entries, withDirectories), fc.boolean()),
    async ([es, raw]) => {
      const r = await inspectBytes(await zipBytes(es, raw));
      if (!r.ok) throw r.error;
      t.is(r.value.entries, es.length);
      t.deepEqual(
        r.value.files.map((f) => [f.name, f.size, f.sha256Hex]),
        es.map((e) => {
          const c = e.name.endsWith('/') ? Buffer.alloc(0) : Buffer.from(e.content);
          return [e.name, c.length, sha256Hex(c)];
        }),
      );
      t.is(r.value.h1 === r.value.h1Unpacked, !es.some((e) => e.name.endsWith('/')));
    },
    { numRuns: 150 },
  );
});
