import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { ConnectionLimits } from '../http/listen.js';
import type { LogConfig } from '../config/types.js';

/**
 * What the writing process and its read-serving workers say to each other
 * over the fork's IPC channel ('advanced' serialization, so Buffers cross).
 */

/** Writer → worker, once, with the listening socket as the handle. */
export interface StartMessage {
  type: 'start';
  /** 1-based, in log lines. */
  worker: number;
  tls?: { certFile: string; keyFile: string; ticketKeys: Buffer };
  limits: ConnectionLimits;
  /** The writer's own log level. */
  logLevel: LogConfig['level'] | 'silent';
  trustedProxies: string[];
  /** The writer's internal listener. */
  socketPath: string;
  documentEntries: number;
}

export type ToWorker =
  | StartMessage
  | { type: 'invalidate' }
  | { type: 'metrics'; id: number }
  | { type: 'shutdown'; timeoutMs: number };

export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

export type ToWriter =
  /** The worker listens for messages: only now is the start message sure to be seen (an ESM entry loads asynchronously). */
  | { type: 'hello' }
  | { type: 'ready' }
  | { type: 'metrics'; id: number; metrics: WorkerMetrics }
  /** Log lines, whole, for the writer's stdout: one process writes it, so lines never interleave. */
  | { type: 'log'; text: string };
