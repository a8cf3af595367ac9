/**
 * The controller runs only while this replica holds the Lease: a fresh
 * Controller on each leadership, stopped when leadership is lost or on stop().
 * Its writes go through the elector's write gate, so a reconcile still in
 * flight when the renew deadline passes cannot write after it.
 */

import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../server/src/log.js';
import { Controller, type ControllerOptions } from './controller.js';
import { fencedKube, fencedServer } from './fence.js';
import { kubeAccess } from './kube.js';
import { LeaderElector, type LeaderElectorOptions } from './leader.js';
import type { ServerClient } from './server-client.js';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  server: ServerClient;
  logger: Logger;
  /** Watched namespace; '' = all. */
  namespace?: string;
  /** Where the Lease lives. */
  leaseNamespace: string;
  identity?: string;
  election?: Pick<LeaderElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>;
  controller?: Partial<Pick<ControllerOptions, 'workers' | 'resyncIntervalMs' | 'restartBackoffMs'>>;
}

export class Operator {
  private readonly elector: LeaderElector;
  private controller: Controller | undefined;

  constructor(private readonly options: OperatorOptions) {
    this.elector = new LeaderElector({
      kubeConfig: options.kubeConfig,
      namespace: options.leaseNamespace,
      logger: options.logger,
      ...(options.identity ? { identity: options.identity } : {}),
      ...options.election,
      onStartedLeading: () => this.startController(),
      onStoppedLeading: () => this.stopController(),
    });
  }

  get identity(): string {
    return this.elector.identity;
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  start(): void {
    this.elector.start();
  }

  /** Stops the controller (if leading) and releases the Lease. */
  async stop(): Promise<void> {
    await this.elector.stop();
    await this.stopController();
  }

  private async startController(): Promise<void> {
    const { kubeConfig, server, logger, namespace } = this.options;
    const gate = () => this.elector.holdsLease();
    this.controller = new Controller({
      kubeConfig,
      server: fencedServer(server, gate),
      kube: fencedKube(kubeAccess(kubeConfig), gate),
      logger,
      namespace,
      ...this.options.controller,
    });
    await this.controller.start();
  }

  private async stopController(): Promise<void> {
    const stopping = this.controller;
    this.controller = undefined;
    await stopping?.stop();
  }
}
