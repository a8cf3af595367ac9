import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import type { Config } from '../config/types.js';
import { listen, type ConnectionLimits, type RunningServer } from '../http/listen.js';
import { lineWriter, type Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { MirrorService } from '../mirror/service.js';
import type { WarmPath } from '../mirror/warm-path.js';
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

export interface ReadWorkersDeps {
  app: Koa;
  warmPath: WarmPath;
  mirror: MirrorService;
  metrics: Metrics;
  logger: Logger;
  limits: ConnectionLimits;
  listener: RunningServer['server'];
  tls: { certFile: string; keyFile: string; ticketKeys?: Buffer } | undefined;
}

/**
 * server.workers > 1: workers - 1 read-serving processes on the main listener
 * (serving/), passing what they do not answer to an internal listener of this
 * process: a Unix socket in a directory only this user can enter.
 */
export async function startReadWorkers(config: Config, deps: ReadWorkersDeps): Promise<{ close(timeoutMs: number): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfmirror-'));
  const socketPath = path.join(dir, 'writer.sock');
  const count = config.server.workers - 1;
  let internal: RunningServer | undefined;
  try {
    // Each worker passes requests on over at most 256 kept-alive connections.
    internal = await listen(deps.app, { listen: '', socketPath, acceptHop: true, warmPath: deps.warmPath, limits: { ...deps.limits, maxConnections: 256 * count + 16 } });
    const readers = new ReadWorkers({
      count,
      listener: deps.listener,
      logger: deps.logger,
      writeLines: lineWriter(deps.logger),
      start: {
        ...(deps.tls?.ticketKeys ? { tls: { certFile: deps.tls.certFile, keyFile: deps.tls.keyFile, ticketKeys: deps.tls.ticketKeys } } : {}),
        limits: deps.limits,
        logLevel: deps.logger.level as StartMessage['logLevel'],
        trustedProxies: config.server.trustedProxies,
        socketPath,
        documentEntries: config.cache.memoryMaxEntries,
      },
    });
    await readers.start();
    deps.mirror.onInvalidate(() => readers.invalidate());
    deps.metrics.addPeers(() => readers.metrics());
    deps.logger.info({ workers: config.server.workers }, 'serving with read-serving workers');
    const opened = internal;
    return {
      async close(timeoutMs) {
        // Workers drain first: what they still serve may need this process's internal listener.
        await readers.close(timeoutMs);
        await opened.close(timeoutMs);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await internal?.close(0);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
