import { fork, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { StartMessage, ToWorker, ToWriter, WorkerMetrics } from './messages.js';

const READER = fileURLToPath(new URL('./reader.js', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const METRICS_TIMEOUT_MS = 2_000;
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;

export interface ReadWorkersOptions {
  /** Workers to fork (server.workers - 1). */
  count: number;
  /** The main listener: each worker is handed its socket. */
  listener: net.Server;
  start: Omit<StartMessage, 'type' | 'worker'>;
  logger: Logger;
  /** Where the workers' log lines go: the writer's own log stream (log.ts lineWriter). */
  writeLines: (text: string) => void;
}

interface Slot {
  child?: ChildProcess;
  restarts: number;
  timer?: NodeJS.Timeout;
}

/**
 * The writing process's read-serving workers (reader.ts): forked at start,
 * each handed the listening socket, told of every invalidation, asked for its
 * request series on a scrape, restarted with exponential backoff (0.5 s to
 * 30 s) when one dies, and drained on shutdown before the internal listener
 * they pass requests to closes.
 */
export class ReadWorkers {
  private readonly slots: Slot[];
  private closing = false;
  private nextId = 0;

  constructor(private readonly opts: ReadWorkersOptions) {
    this.slots = Array.from({ length: opts.count }, () => ({ restarts: 0 }));
  }

  /** Resolves once every worker listens; rejects (and stops them) when one cannot start. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.slots.map((_, i) => this.spawn(i)));
    } catch (err) {
      await this.close(0);
      throw err;
    }
  }

  private spawn(index: number): Promise<void> {
    const slot = this.slots[index]!;
    const child = fork(READER, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    slot.child = child;
    const message: StartMessage = { type: 'start', worker: index + 1, ...this.opts.start };
    child.on('message', (m: ToWriter) => {
      if (m.type === 'hello') child.send(message, this.opts.listener, (err) => void err);
      else if (m.type === 'log' && typeof m.text === 'string') this.opts.writeLines(m.text);
    });
    child.once('exit', (code, signal) => {
      if (slot.child === child) slot.child = undefined;
      if (this.closing) return;
      const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** slot.restarts);
      slot.restarts++;
      this.opts.logger.error({ worker: index + 1, code, signal, restartInMs: delay }, 'read-serving worker exited; restarting it');
      slot.timer = setTimeout(() => {
        slot.timer = undefined;
        this.spawn(index).then(
          () => this.opts.logger.info({ worker: index + 1 }, 'read-serving worker restarted'),
          (err: unknown) => this.opts.logger.error({ err, worker: index + 1 }, 'read-serving worker did not restart'),
        );
      }, delay);
      slot.timer.unref();
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`read-serving worker ${index + 1} did not start within ${READY_TIMEOUT_MS / 1000} s`));
      }, READY_TIMEOUT_MS);
      const onMessage = (m: ToWriter) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        // A worker that stays up for a minute has earned a fresh backoff.
        setTimeout(() => {
          if (slot.child === child) slot.restarts = 0;
        }, 60_000).unref();
        resolve();
      };
      child.on('message', onMessage);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`read-serving worker ${index + 1} exited with ${code} before it listened`));
      });
    });
  }

  /** Every worker drops its copies of documents (MirrorService invalidated). */
  invalidate(): void {
    this.broadcast({ type: 'invalidate' });
  }

  /** Each running worker's request series; one that does not answer within 2 s is left out of this scrape. */
  async metrics(): Promise<WorkerMetrics[]> {
    const answers = await Promise.all(this.running().map((child) => this.askMetrics(child)));
    return answers.filter((a): a is WorkerMetrics => a !== undefined);
  }

  private askMetrics(child: ChildProcess): Promise<WorkerMetrics | undefined> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      const done = (value: WorkerMetrics | undefined) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(value);
      };
      const onMessage = (m: ToWriter) => {
        if (m.type === 'metrics' && m.id === id) done(m.metrics);
      };
      const onExit = () => done(undefined);
      const timer = setTimeout(() => done(undefined), METRICS_TIMEOUT_MS);
      child.on('message', onMessage);
      child.once('exit', onExit);
      send(child, { type: 'metrics', id });
    });
  }

  /** Workers still running. */
  get size(): number {
    return this.running().length;
  }

  /** Workers stop accepting, finish what they serve for up to timeoutMs, and exit; then they are killed. */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    for (const slot of this.slots) clearTimeout(slot.timer);
    await Promise.all(
      this.running().map(
        (child) =>
          new Promise<void>((resolve) => {
            const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 2_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            send(child, { type: 'shutdown', timeoutMs });
          }),
      ),
    );
  }

  private running(): ChildProcess[] {
    return this.slots.map((s) => s.child).filter((c): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null);
  }

  private broadcast(message: ToWorker): void {
    for (const child of this.running()) send(child, message);
  }
}

/** A message to a worker whose channel may just have closed (it is exiting): the exit handler deals with it. */
function send(child: ChildProcess, message: ToWorker): void {
  if (child.connected) child.send(message, (err) => void err);
}
