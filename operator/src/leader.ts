/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection: try to acquire every retryPeriod; a lease is free when it
 * has no holder or its record has not changed for leaseDuration *as observed
 * locally* (no trust in other clocks); the leader renews every retryPeriod
 * and gives up when it could not renew within renewDeadline. Optimistic
 * concurrency (resourceVersion) decides races. Release on graceful stop.
 *
 * Renewal runs on its own timer: the leadership callbacks (starting the
 * controller lists every custom resource, stopping it waits for the workers)
 * run on a separate chain and never hold up the next renewal. Leadership ends
 * on the clock, not on a callback: holdsLease() turns false renewDeadline
 * after the last successful renew was *sent*, even when the event loop is
 * late, and the controller's writes ask it first (fence.ts). Since
 * renewDeadline < leaseDuration and another candidate waits a full
 * leaseDuration from when it saw that renewal, this replica stops writing
 * before any other can start.
 */

import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import os from 'node:os';
import type { Logger } from '../../server/src/log.js';
import { isStatus } from './kube.js';

export const LEASE_NAME = 'terraform-mirror-operator';

export interface LeaderElectorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  now?: () => Date;
  logger: Logger;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
}

export function defaultIdentity(): string {
  return `${os.hostname()}_${process.pid}`;
}

export class LeaderElector {
  readonly identity: string;
  private readonly api: CoordinationV1Api;
  private readonly name: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => Date;
  private leading = false;
  /** When the last successful acquire or renew was sent (epoch ms). */
  private lastRenewMs = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** Leadership callbacks, one after the other, off the renewal path. */
  private transitions: Promise<void> = Promise.resolve();
  private observed: { key: string; atMs: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private tick: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeaderElectorOptions) {
    this.api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.name = options.name ?? LEASE_NAME;
    this.identity = options.identity ?? defaultIdentity();
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.now = options.now ?? (() => new Date());
    if (this.renewDeadlineMs >= this.leaseDurationMs) throw new Error('renewDeadline must be shorter than leaseDuration');
  }

  get isLeader(): boolean {
    return this.holdsLease();
  }

  /** The write gate: leading, and the last renewal is younger than the renew deadline. */
  holdsLease(): boolean {
    return this.leading && this.now().getTime() - this.lastRenewMs < this.renewDeadlineMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stop campaigning; when leading, stop the work first and then release the lease. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.tick;
    const wasLeading = this.leading;
    this.loseLeadership('shutting down');
    await this.transitions;
    if (!wasLeading) return;
    await this.release().catch((err: unknown) => this.options.logger.warn({ err: String(err) }, 'could not release the lease'));
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.tick = this.step()
        .catch((err: unknown) => this.options.logger.error({ err: String(err) }, 'leader election step failed'))
        .finally(() => {
          if (this.running) this.schedule(this.retryPeriodMs);
        });
    }, ms);
  }

  private async step(): Promise<void> {
    const sentMs = this.now().getTime();
    let acquired = false;
    try {
      acquired = await withTimeout(this.tryAcquireOrRenew(), this.renewDeadlineMs);
    } catch (err) {
      this.options.logger.debug({ err: String(err) }, 'lease update failed');
    }
    if (!this.running) return;
    // A renewal that took the whole deadline proves nothing about now.
    if (acquired && this.now().getTime() - sentMs < this.renewDeadlineMs) {
      this.lastRenewMs = sentMs;
      this.armDeadline();
      if (!this.leading) {
        this.leading = true;
        this.options.logger.info({ identity: this.identity, lease: this.name }, 'became the leader');
        this.transition(this.options.onStartedLeading);
      }
    } else if (this.leading && !this.holdsLease()) {
      this.loseLeadership('could not renew the lease within the renew deadline');
    }
  }

  /** Stop leading the moment the renew deadline passes, without waiting for the next step. */
  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const ms = this.lastRenewMs + this.renewDeadlineMs - this.now().getTime();
    this.deadlineTimer = setTimeout(() => {
      if (this.leading && !this.holdsLease()) this.loseLeadership('could not renew the lease within the renew deadline');
    }, Math.max(0, ms) + 1);
    this.deadlineTimer.unref();
  }

  private loseLeadership(why: string): void {
    clearTimeout(this.deadlineTimer);
    if (!this.leading) return;
    this.leading = false;
    this.options.logger.warn({ identity: this.identity, why }, 'stopped leading');
    this.transition(this.options.onStoppedLeading);
  }

  private transition(callback: () => void | Promise<void>): void {
    this.transitions = this.transitions
      .then(callback)
      .catch((err: unknown) => this.options.logger.error({ err: String(err) }, 'leadership callback failed'));
  }

  /** true when we hold the lease after this call. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace } = this.options;
    const now = this.now();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name: this.name, namespace });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      await this.api.createNamespacedLease({
        namespace,
        body: { metadata: { name: this.name, namespace }, spec: this.spec(now, now, 0) },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const key = `${holder}|${String(spec.renewTime ?? '')}|${spec.leaseDurationSeconds ?? ''}`;
    if (!this.observed || this.observed.key !== key) this.observed = { key, atMs: now.getTime() };
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    const expired = this.observed.atMs + durationMs <= now.getTime();
    if (holder !== '' && holder !== this.identity && !expired) return false;

    const mine = holder === this.identity;
    const acquireTime = mine && spec.acquireTime ? new V1MicroTime(String(spec.acquireTime)) : now;
    const transitions = (spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
    try {
      await this.api.replaceNamespacedLease({
        name: this.name,
        namespace,
        body: { ...lease, spec: this.spec(acquireTime, now, transitions) },
      });
    } catch (err) {
      if (isStatus(err, 409)) return false; // someone else wrote it first
      throw err;
    }
    return true;
  }

  private spec(acquireTime: Date, renewTime: Date, leaseTransitions: number): NonNullable<V1Lease['spec']> {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.leaseDurationMs / 1000)),
      acquireTime: new V1MicroTime(acquireTime),
      renewTime: new V1MicroTime(renewTime),
      leaseTransitions,
    };
  }

  /** Give the lease up so another candidate need not wait for it to expire. */
  private async release(): Promise<void> {
    const { namespace } = this.options;
    const lease = await this.api.readNamespacedLease({ name: this.name, namespace });
    if (lease.spec?.holderIdentity !== this.identity) return;
    await this.api.replaceNamespacedLease({
      name: this.name,
      namespace,
      body: {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.now()) },
      },
    });
    this.options.logger.info({ identity: this.identity }, 'released the lease');
  }
}

/** Settles as `promise` does, or rejects after `ms` (the promise itself keeps running; its result is dropped). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lease request took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
