import test from 'ava';
import { type Timers, WorkQueue } from '../../../operator/src/workqueue.js';

/** Timers that fire only when the test advances the clock. */
class ManualTimers implements Timers {
  private t = 0;
  private seq = 0;
  private pending = new Map<number, { at: number; fn: () => void }>();
  readonly delays: number[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.seq += 1;
    this.pending.set(this.seq, { at: this.t + ms, fn });
    this.delays.push(ms);
    return this.seq;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, timer] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at <= this.t) {
        this.pending.delete(id);
        timer.fn();
      }
    }
  }
  get scheduled(): number {
    return this.pending.size;
  }
}

test('a key added twice while queued is handed out once', async (t) => {
  const q = new WorkQueue();
  q.add('ProviderSet/ns/a');
  q.add('ProviderSet/ns/a');
  q.add('ProviderSet/ns/b');
  t.is(q.length, 2);
  t.is(await q.get(), 'ProviderSet/ns/a');
  t.is(await q.get(), 'ProviderSet/ns/b');
  t.is(q.length, 0);
});

test('a key added while being processed is not handed to a second worker until done', async (t) => {
  const q = new WorkQueue();
  q.add('k');
  const first = await q.get();
  q.add('k');
  t.is(q.length, 0, 'not queued while processing');
  let second: string | undefined;
  const waiting = q.get().then((k) => (second = k));
  await new Promise((r) => setImmediate(r));
  t.is(second, undefined);
  q.done(first!);
  await waiting;
  t.is(second, 'k', 'handed out again after done');
});

test('a waiting worker receives a key added later', async (t) => {
  const q = new WorkQueue();
  const got = q.get();
  q.add('late');
  t.is(await got, 'late');
});

test('backoff doubles per failure from 5 ms up to the cap and forget resets it', (t) => {
  const q = new WorkQueue({ maxDelayMs: 100 });
  t.deepEqual([1, 2, 3, 4, 5, 6].map(() => q.when('k')), [5, 10, 20, 40, 80, 100]);
  t.is(q.numRequeues('k'), 6);
  t.is(q.when('other'), 5, 'keys back off independently');
  q.forget('k');
  t.is(q.when('k'), 5);
});

test('the default backoff caps at five minutes', (t) => {
  const q = new WorkQueue();
  let delay = 0;
  for (let i = 0; i < 40; i += 1) delay = q.when('k');
  t.is(delay, 5 * 60_000);
});

test('addRateLimited re-adds the key after its backoff delay', async (t) => {
  const timers = new ManualTimers();
  const q = new WorkQueue({ timers });
  q.addRateLimited('k');
  q.addRateLimited('k'); // 10 ms, later than the pending 5 ms: the earlier add wins
  t.deepEqual(timers.delays, [5]);
  timers.advance(4);
  t.is(q.length, 0);
  timers.advance(1);
  t.is(q.length, 1);
  t.is(await q.get(), 'k');
});

test('addAfter with a sooner time replaces a later pending add', (t) => {
  const timers = new ManualTimers();
  const q = new WorkQueue({ timers });
  q.addAfter('k', 1000);
  q.addAfter('k', 10);
  t.is(timers.scheduled, 1);
  timers.advance(10);
  t.is(q.length, 1);
});

test('shutdown wakes waiting workers, drops delayed adds and refuses new keys', async (t) => {
  const timers = new ManualTimers();
  const q = new WorkQueue({ timers });
  const waiting = q.get();
  q.addAfter('k', 50);
  q.shutdown();
  t.is(await waiting, undefined);
  t.is(timers.scheduled, 0);
  q.add('x');
  t.is(await q.get(), undefined);
});
