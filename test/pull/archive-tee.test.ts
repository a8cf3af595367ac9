import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import test from 'ava';
import fc from 'fast-check';
import { GrowingFile } from '../../server/src/pull/tee.js';

const tick = () => new Promise((r) => setImmediate(r));

interface Reader {
  got: Buffer[];
  size: number;
  done: Promise<Error | undefined>;
}

/** Consumes a follower, pausing `pauses[i]` event-loop turns after chunk i: readers of every speed. */
function consume(body: Readable, pauses: number[]): Reader {
  const r: Reader = { got: [], size: 0, done: Promise.resolve(undefined) };
  r.done = (async () => {
    let i = 0;
    try {
      for await (const chunk of body) {
        r.got.push(chunk as Buffer);
        r.size += (chunk as Buffer).length;
        for (let n = pauses[i++ % pauses.length] ?? 0; n > 0; n--) await tick();
      }
    } catch (err) {
      return err as Error;
    }
    return undefined;
  })();
  return r;
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-tee-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('every follower gets exactly the bytes written, whatever the chunking, window, hold-back, join time or reading speed; none ever gets into the held-back tail', async (t) => {
  const dir = tempDir(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 0, maxLength: 12 }),
      fc.integer({ min: 0, max: 70_000 }),
      fc.integer({ min: 1, max: 100_000 }),
      fc.array(fc.record({ joinAfter: fc.nat(12), pauses: fc.array(fc.nat(3), { minLength: 1, maxLength: 4 }) }), { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      async (chunkSizes, holdBackBytes, windowBytes, readers, fails) => {
        const file = await GrowingFile.create(path.join(dir, `${run++}.zip`), { holdBackBytes, windowBytes, chunkBytes: 16 * 1024 });
        const chunks = chunkSizes.map((n, i) => Buffer.alloc(n, i + 1));
        const all = Buffer.concat(chunks);
        const followers: Reader[] = [];
        const join = (k: number) => {
          for (const r of readers) if (r.joinAfter === k) followers.push(consume(file.follow()!, r.pauses));
        };
        let written = 0;
        for (const [k, c] of chunks.entries()) {
          join(k);
          await file.append(c);
          written += c.length;
          for (let n = 0; n < 3; n++) await tick();
          for (const f of followers) if (f.size > Math.max(0, written - holdBackBytes)) return false;
        }
        for (let k = chunks.length; k <= 12; k++) join(k);
        file.complete();
        for (let n = 0; n < 5; n++) await tick();
        for (const f of followers) if (f.size > Math.max(0, all.length - holdBackBytes)) return false;
        await file.detachWriter();
        if (fails) file.fail(new Error('digest mismatch'));
        else file.release();
        const outcomes = await Promise.all(followers.map((f) => f.done));
        for (const [i, f] of followers.entries()) {
          if (fails) {
            if (outcomes[i]?.message !== 'digest mismatch') return false;
            if (f.size > Math.max(0, all.length - holdBackBytes)) return false;
          } else if (outcomes[i] !== undefined || !Buffer.concat(f.got).equals(all)) return false;
        }
        return true;
      },
    ),
    { numRuns: 60 },
  );
  t.deepEqual(fs.readdirSync(dir), [], 'every staging name was removed');
});

test('a follower that joins after the writer finished reads the whole file through the open descriptor', async (t) => {
  const dir = tempDir(t);
  const file = await GrowingFile.create(path.join(dir, 'x.zip'), { holdBackBytes: 1024, windowBytes: 1024 });
  const early = consume(file.follow()!, [0]);
  const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
  await file.append(bytes.subarray(0, 6000));
  await file.append(bytes.subarray(6000));
  file.complete();
  await file.detachWriter();
  t.false(fs.existsSync(file.path));
  const late = consume(file.follow()!, [0]);
  file.release();
  t.is(await early.done, undefined);
  t.is(await late.done, undefined);
  t.true(Buffer.concat(late.got).equals(bytes));
  t.true(Buffer.concat(early.got).equals(bytes));
  t.is(file.follow(), undefined, 'once every follower is done the descriptor is closed: read the store instead');
});

test('a follower of a failed download is refused with its error', async (t) => {
  const dir = tempDir(t);
  const file = await GrowingFile.create(path.join(dir, 'x.zip'), { holdBackBytes: 0, windowBytes: 1024 });
  await file.append(Buffer.alloc(100));
  file.fail(new Error('cut'));
  t.throws(() => file.follow(), { message: 'cut' });
  await file.detachWriter();
});
