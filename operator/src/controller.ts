/**
 * Informers on ProviderSet, ProviderMirror and ModuleSet feed a rate-limited work queue;
 * N workers run reconcile for one key at a time. The client's informers stop
 * for good on a cut connection or a failed list, so a watchdog restarts them
 * with backoff, and a periodic resync re-queues every cached object.
 *
 * A Retain object has no finalizer, so one deleted while no operator was
 * watching leaves its server record behind forever. On every full resync (all
 * informers freshly and cleanly listed, and each periodic resync) the
 * controller asks the server for its records and queues those whose object
 * the cache does not hold; the reconcile reads the object live and, when it
 * is really gone, drops the record (never the content).
 */

import {
  ADD,
  CustomObjectsApi,
  DELETE,
  ERROR,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  UPDATE,
} from '@kubernetes/client-node';
import type { Logger } from '../../server/src/log.js';
import { GROUP, VERSION } from './api/v1alpha1.js';
import type { MirrorResource } from './decide.js';
import { type KubeAccess, type ObjectRef, PLURALS, type ResourceKind, isStatus, kubeAccess } from './kube.js';
import { makeLeanInformer } from './informer.js';
import { isApplyRecord } from './ownership.js';
import { reconcile } from './reconcile.js';
import type { ServerClient } from './server-client.js';
import { WorkQueue, type WorkQueueOptions } from './workqueue.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  server: ServerClient;
  logger: Logger;
  /** '' or undefined: all namespaces. */
  namespace?: string;
  workers?: number;
  now?: () => Date;
  /** Defaults to the client-node adapter on kubeConfig. */
  kube?: KubeAccess;
  /** Re-queue every cached object this often (default 5 min). */
  resyncIntervalMs?: number;
  /** Informer restart backoff (default 500 ms doubling to 60 s). */
  restartBackoffMs?: { initial: number; max: number };
  queue?: WorkQueueOptions;
}

type MirrorInformer = Informer<MirrorResource & KubernetesObject> & ObjectCache<MirrorResource & KubernetesObject>;

interface WatchedKind {
  kind: ResourceKind;
  informer: MirrorInformer;
  backoffMs: number;
  errors: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** The cache holds a complete list: the last (re)start succeeded and no error came since. */
  synced: boolean;
  /**
   * The apiserver answered 404 for the kind: its CRD is not installed (helm
   * upgrade installs no new CRDs). No object of it can exist, so it does not
   * hold back orphan collection for the other kinds; its own records are left alone.
   */
  missing: boolean;
}

export const WATCHED_KINDS: readonly ResourceKind[] = ['ProviderSet', 'ProviderMirror', 'ModuleSet'];

export function keyOf(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

export function refOf(key: string): ObjectRef {
  const [kind, namespace, name] = key.split('/') as [ResourceKind, string, string];
  return { kind, namespace, name };
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly kube: KubeAccess;
  private readonly now: () => Date;
  private readonly workers: number;
  private readonly resyncIntervalMs: number;
  private readonly backoff: { initial: number; max: number };
  private readonly watched: WatchedKind[] = [];
  private readonly running: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(private readonly options: ControllerOptions) {
    this.kube = options.kube ?? kubeAccess(options.kubeConfig);
    this.now = options.now ?? (() => new Date());
    this.workers = options.workers ?? 2;
    this.resyncIntervalMs = options.resyncIntervalMs ?? 5 * 60_000;
    this.backoff = options.restartBackoffMs ?? { initial: 500, max: 60_000 };
    this.queue = new WorkQueue(options.queue);
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    for (const kind of WATCHED_KINDS) this.watched.push(this.watch(kind));
    await Promise.all(this.watched.map((w) => this.startInformer(w)));
    for (let i = 0; i < this.workers; i += 1) this.running.push(this.work());
    this.resyncTimer = setInterval(() => this.resync(), this.resyncIntervalMs);
    this.resyncTimer.unref();
    this.options.logger.info({ namespace: this.options.namespace || '(all)', workers: this.workers }, 'controller started');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.resyncTimer);
    for (const w of this.watched) clearTimeout(w.restartTimer);
    await Promise.all(this.watched.map((w) => w.informer.stop()));
    this.queue.shutdown();
    await Promise.all(this.running.splice(0));
    this.watched.length = 0;
    this.options.logger.info('controller stopped');
  }

  private watch(kind: ResourceKind): WatchedKind {
    const { kubeConfig, namespace } = this.options;
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const plural = PLURALS[kind];
    const path = namespace
      ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural}`
      : `/apis/${GROUP}/${VERSION}/${plural}`;
    const list = () =>
      (namespace
        ? custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural })
        : custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as Promise<
        KubernetesListObject<MirrorResource & KubernetesObject>
      >;
    const informer = makeLeanInformer(kubeConfig, path, list);
    const w: WatchedKind = { kind, informer, backoffMs: this.backoff.initial, errors: 0, restartTimer: undefined, synced: false, missing: false };
    const enqueue = (obj: MirrorResource & KubernetesObject) => this.enqueue(kind, obj);
    informer.on(ADD, enqueue);
    informer.on(UPDATE, enqueue);
    informer.on(DELETE, enqueue);
    informer.on(ERROR, (err: unknown) => this.onInformerError(w, err));
    return w;
  }

  private enqueue(kind: ResourceKind, obj: MirrorResource): void {
    const { namespace, name } = obj.metadata;
    if (namespace && name) this.queue.add(keyOf({ kind, namespace, name }));
  }

  private onInformerError(w: WatchedKind, err: unknown): void {
    // informer.stop() reports its own abort; that is not a failure.
    if (this.stopped || (err instanceof Error && err.name === 'AbortError')) return;
    w.errors += 1;
    w.synced = false;
    if (isStatus(err, 404)) {
      if (!w.missing) {
        this.options.logger.warn({ kind: w.kind }, `the ${w.kind} CRD is not installed: apply crds/ (helm upgrade does not install new CRDs); watching for it`);
        w.missing = true;
        void this.collectOrphans();
      }
    }
    if (w.restartTimer) return;
    const delay = w.backoffMs;
    w.backoffMs = Math.min(w.backoffMs * 2, this.backoff.max);
    this.options.logger.warn({ kind: w.kind, err: String(err), retryInMs: delay }, 'informer stopped; restarting');
    w.restartTimer = setTimeout(() => {
      w.restartTimer = undefined;
      void this.startInformer(w);
    }, delay);
  }

  private async startInformer(w: WatchedKind): Promise<void> {
    if (this.stopped) return;
    const errorsBefore = w.errors;
    try {
      await w.informer.start();
    } catch (err) {
      this.onInformerError(w, err);
      return;
    }
    // start() also resolves after a failed list (reported through ERROR): only a clean start resets the backoff.
    if (w.errors !== errorsBefore) return;
    w.backoffMs = this.backoff.initial;
    w.synced = true;
    w.missing = false;
    void this.collectOrphans();
  }

  private resync(): void {
    for (const w of this.watched) for (const obj of w.informer.list()) this.enqueue(w.kind, obj);
    void this.collectOrphans();
  }

  /**
   * Queues the server records whose object is not in the cache. Only with
   * every cache complete: after a failed list the cache may be empty, and
   * every record would look orphaned. Records `tfmirror apply` made have no
   * object behind them and are left alone, as are other namespaces' when
   * this controller watches one.
   */
  private async collectOrphans(): Promise<void> {
    if (this.stopped || this.watched.length === 0 || !this.watched.every((w) => w.synced || w.missing)) return;
    let records;
    try {
      records = await this.options.server.list();
    } catch (err) {
      this.options.logger.warn({ err: describe(err) }, 'could not list the server records; checking again at the next resync');
      return;
    }
    const { namespace } = this.options;
    for (const r of records) {
      if (isApplyRecord(r) || (namespace && r.namespace !== namespace)) continue;
      const w = this.watched.find((x) => x.kind === r.kind);
      if (!w?.synced || w.informer.get(r.name, r.namespace)) continue;
      this.options.logger.info({ kind: r.kind, namespace: r.namespace, name: r.name }, 'server record without its object; checking it');
      this.queue.add(keyOf(r));
    }
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const { requeueAfterMs } = await reconcile(refOf(key), {
          kube: this.kube,
          server: this.options.server,
          now: this.now,
          logger: this.options.logger,
          cached: (ref) => this.watched.find((w) => w.kind === ref.kind)?.informer.get(ref.name, ref.namespace),
        });
        this.queue.forget(key);
        if (requeueAfterMs !== undefined) this.queue.addAfter(key, requeueAfterMs);
      } catch (err) {
        const retries = this.queue.numRequeues(key);
        this.options.logger[retries > 3 ? 'warn' : 'debug']({ key, err: describe(err), retries }, 'reconcile failed; retrying');
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}

function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && 'body' in err) {
    return `${String((err as { code: unknown }).code)} ${String((err as { body: unknown }).body).slice(0, 300)}`;
  }
  return String(err);
}
