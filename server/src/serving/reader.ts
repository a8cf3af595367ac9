/**
 * A read-serving worker (server.workers > 1): forked by `serve`, handed the
 * main listening socket, it answers warm provider documents from its own copy
 * and passes every other request to the writing process (pass-on.ts). It
 * opens no database and runs no jobs: what it knows comes from the writer.
 */
import http from 'node:http';
import { Counter } from 'prom-client';
import type net from 'node:net';
import { TrustedProxies } from '../http/forwarded.js';
import { closeGracefully, createServer, dropLogger } from '../http/listen.js';
import { accessLogger, createLogger } from '../log.js';
import { Metrics } from '../metrics/metrics.js';
import { WARM_ROUTE, warmDocuments } from '../mirror/warm-path.js';
import { ForwardedDocuments } from './forwarded-documents.js';
import type { StartMessage, ToWorker, ToWriter } from './messages.js';
import { passOn } from './pass-on.js';

/** How long a document the writer answered is reused here at most (see ForwardedDocuments). */
export const KEPT_DOCUMENT_TTL_MS = 1_000;

function send(message: ToWriter, sent?: () => void): void {
  if (process.send) process.send(message, undefined, undefined, () => sent?.());
  else sent?.();
}

function start(msg: StartMessage, listening: net.Server): void {
  const lines = new LineBatch((text, sent) => send({ type: 'log', text }, sent));
  const root = createLogger(msg.logLevel, lines);
  const logger = root.child({ worker: msg.worker });
  const documents = new ForwardedDocuments({ maxEntries: msg.documentEntries, ttlMs: KEPT_DOCUMENT_TTL_MS });
  const metrics = new Metrics({ defaultMetrics: false });
  const passedOn = new Counter({ name: 'worker_requests_passed_on_total', help: 'Requests read-serving workers passed on to the writing process', registers: [metrics.registry] });
  const warm = warmDocuments({
    mirror: documents,
    logger: accessLogger(root).child({ worker: msg.worker }),
    trustedProxies: new TrustedProxies(msg.trustedProxies),
    observe: metrics.requestObserver({ method: 'GET', route: WARM_ROUTE, status: 200 }),
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const pass = {
    socketPath: msg.socketPath,
    agent,
    proto: msg.tls ? ('https' as const) : ('http' as const),
    documents,
    onFileSent: (bytes: number) => metrics.bytesServed.inc(bytes),
  };
  const server = createServer(
    (req, res) => {
      if (warm(req, res)) return;
      passedOn.inc();
      passOn(req, res, pass);
    },
    msg.limits,
    msg.tls,
  );
  // The socket the writer listens on, shared: the kernel hands each new connection to one of the processes.
  server.listen(listening, () => send({ type: 'ready' }));
  server.on('drop', dropLogger(logger));
  server.on('error', (err) => {
    logger.error({ err }, 'worker listener failed');
    process.exit(1);
  });

  let stopping = false;
  process.on('message', (m: ToWorker) => {
    if (m.type === 'invalidate') documents.invalidate();
    else if (m.type === 'metrics') void metrics.registry.getMetricsAsJSON().then((json) => send({ type: 'metrics', id: m.id, metrics: json }));
    else if (m.type === 'shutdown' && !stopping) {
      stopping = true;
      void closeGracefully(server, m.timeoutMs).then(() => {
        agent.destroy();
        // The last lines reach the writer before this process ends (process.send is asynchronous).
        lines.flush(() => process.exit(0));
      });
    }
  });
  // The writer is gone (crashed or killed): nothing can be passed on, and it starts its workers afresh.
  process.once('disconnect', () => process.exit(stopping ? 0 : 1));
}

/**
 * A pino destination that sends whole lines to the writer, batched: at most
 * every 20 ms or 64 KiB, so a busy worker costs one IPC message per batch.
 */
class LineBatch {
  private pending = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sendText: (text: string, sent?: () => void) => void) {}

  write(line: string): void {
    this.pending += line;
    if (this.pending.length >= 64 * 1024) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 20).unref();
  }

  flush(sent?: () => void): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const text = this.pending;
    this.pending = '';
    if (text === '') sent?.();
    else this.sendText(text, sent);
  }
}

process.once('message', (m: ToWorker, handle: unknown) => {
  // Stopped before it was started (the writer shut down meanwhile).
  if (m.type === 'shutdown') process.exit(0);
  if (m.type !== 'start') throw new Error(`a worker expects its start message first, got ${m.type}`);
  start(m, handle as net.Server);
});
send({ type: 'hello' });
