import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type Koa from 'koa';
import type { Config } from '../config/types.js';
import { adminApi } from '../admin/api.js';
import { Metrics, metricsMiddleware, metricsRoute } from '../metrics/index.js';
import { dataVolumeSnapshot, oldestDueItemAge, storageSnapshot } from '../metrics/storage.js';
import { createApp } from '../http/app.js';
import { clientConfigText, renderClientConfig } from '../http/client-config.js';
import { packageVersion } from '../version.js';
import { dropLogger, listen, type ConnectionLimits, type RunningServer } from '../http/listen.js';
import { ensureSelfSignedTls, type TlsMaterial } from '../http/self-signed.js';
import { accessLogger, type Logger } from '../log.js';
import { DownloadCounter } from '../mirror/downloads.js';
import { moduleDownloadCounter } from '../mirror/module-routes.js';
import { MirrorService } from '../mirror/service.js';
import { WARM_ROUTE, warmDocuments } from '../mirror/warm-path.js';
import { startReadWorkers } from '../serving/workers.js';
import { TrustedProxies } from '../http/forwarded.js';
import { readHeldRelease } from '../mirror/held-evidence.js';
import { createPullThrough } from '../pull/pull-through-wiring.js';
import { createLoadWorkers } from '../loads/service.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { preferNonBlockingWrites } from '../db/database.js';
import type { StagingArea } from '../loads/staging.js';
import { scheduleSweeps } from '../packages/sweep.js';
import { createArchiveCache } from '../storage/disk-cache.js';

export interface Serving {
  /** Base URL clients use, with a trailing slash. */
  url: string;
  port: number;
  /** The bound address. */
  listen: string;
  /** Base URL of the admin listener (server.admin_listen), when there is one. */
  adminUrl?: string;
  /** The assembled application (tests inspect its routers). */
  app: Koa;
  /** Present when the server made its own CA. */
  selfSigned?: TlsMaterial;
  shutdown(): Promise<void>;
}

/** Opens data, builds the app and listens. Used by `tfmirror serve` and by tests in-process. */
export async function startServing(config: Config, logger: Logger): Promise<Serving> {
  const runtime = await openRuntime(config);
  // Requests must not wait on another process's write lock; background writers retry instead.
  preferNonBlockingWrites(runtime.db);
  let running: RunningServer | undefined;
  let adminRunning: RunningServer | undefined;
  let readers: { close(timeoutMs: number): Promise<void> } | undefined;
  try {
    // The archive disk cache wraps the store for everyone in this process, so every delete invalidates it.
    const archiveCache = await createArchiveCache(runtime.store, config, (key, err) => logger.warn({ key, err }, 'archive cache: integrity failure'));
    if (archiveCache) runtime.store = archiveCache;
    const downloads = new DownloadCounter(runtime.providers);
    const moduleDownloads = moduleDownloadCounter(runtime.db, runtime.repos.modules);
    const presignTtl = config.storage.type === 's3' && config.storage.presignDownloads ? config.storage.presignTtl : 0;

    // Job workers: loads queued by any process are run here, and what they
    // publish is visible at once (this connection's writes do not move data_version).
    const workers = createLoadWorkers(runtime, config, {
      published: () => mirror.invalidate(),
      onEvent: (e) => {
        if (e.type === 'finished') logger.info({ item: { id: e.item.id, source: e.item.source, version: e.item.version, platform: e.item.platform }, outcome: e.outcome, error: e.error }, 'job item');
        if (e.type === 'error') logger.warn({ err: e.error }, 'job workers');
      },
    });

    // Reads that miss go through the pull-through seam (with pull_through off it refuses, as before).
    const pull = createPullThrough(runtime, config, {
      downloads: workers.registries,
      staging: workers.staging,
      published: () => mirror.invalidate(),
      moduleIngest: workers.moduleIngest,
      onError: (err, what) => logger.warn({ err, what }, 'pull-through'),
    });
    const mirror = new MirrorService(runtime.db, runtime.providers, {
      missHandler: pull.seam,
      modules: runtime.repos.modules,
      heldRelease: (id, version, signal) => readHeldRelease(runtime.store, id, version, signal),
      cacheEntries: config.cache.memoryMaxEntries,
    });

    const admin = adminApi({
      runtime,
      config,
      registries: workers.registries,
      invalidate: () => mirror.invalidate(),
      logger,
      version: packageVersion(),
      ...(workers.moduleFetcher ? { moduleRefs: workers.moduleFetcher } : {}),
      pullThrough: { enabled: config.pullThrough.enabled, stats: pull.seam.stats, moduleStats: pull.seam.moduleStats, health: (h) => pull.metadata.health(h) },
    });
    const jobStats = runtime.repos.jobStats;
    const metrics = new Metrics({
      cache: () => mirror,
      jobs: () => jobStats.counts(),
      upstream: () => workers.registries.stats(),
      pullMetadata: () => pull.metadata.stats(),
      pullSeam: () => ({ seam: pull.seam.stats, modules: pull.seam.moduleStats, archives: pull.puller.stats() }),
      ...(archiveCache ? { diskCache: () => archiveCache.stats() } : {}),
      storage: () => storageSnapshot(runtime.repos),
      dataVolume: () => dataVolumeSnapshot(config.dataDir),
      oldestDueItemAge: () => oldestDueItemAge(jobStats),
      onSourceError: (err: unknown) => logger.warn({ err }, 'metrics source failed'),
    });
    // With server.admin_listen the admin API and /metrics leave the main
    // listener, so an Ingress in front of it exposes only the mirror.
    const adminRouters = [metricsRoute(metrics), admin.router];
    const split = config.server.adminListen !== '';
    const appDeps = {
      logger,
      db: runtime.db,
      store: runtime.store,
      mirror,
      downloads,
      moduleDownloads,
      presignTtl,
      publicUrl: config.server.publicUrl,
      trustedProxies: config.server.trustedProxies,
      middleware: [metricsMiddleware(metrics)],
      clientConfig: { publicUrl: config.server.publicUrl, upstreams: Object.keys(config.upstreams) },
    };
    const app = createApp({ ...appDeps, routers: split ? [] : adminRouters });

    const tls = await tlsFor(config);
    const shared = config.server.workers > 1;
    // Processes sharing a listener share TLS session ticket keys, so a session resumes on whichever one answers.
    const tlsFiles = tls && { certFile: tls.certFile, keyFile: tls.keyFile, ...(shared ? { ticketKeys: randomBytes(48) } : {}) };
    const limits = connectionLimits(config);
    const listenOptions = { tls: tlsFiles, limits, onDrop: dropLogger(logger) };
    const warmPath = warmDocuments({
      mirror,
      logger: accessLogger(logger),
      trustedProxies: new TrustedProxies(config.server.trustedProxies),
      observe: metrics.requestObserver({ method: 'GET', route: WARM_ROUTE, status: 200 }),
    });
    running = await listen(app, { ...listenOptions, listen: config.server.listen, warmPath });
    if (shared) {
      readers = await startReadWorkers(config, { app, warmPath, mirror, metrics, logger, limits, listener: running.server, tls: tlsFiles });
    }
    if (split) {
      adminRunning = await listen(createApp({ ...appDeps, routers: adminRouters, serveMirror: false }), { ...listenOptions, listen: config.server.adminListen });
    }
    mirror.start();
    downloads.start();
    moduleDownloads.start();
    workers.pool.start();
    const sweeps = startOrphanSweeps(runtime, workers.staging, logger);

    const url = baseUrl(config, running);
    const servers = adminRunning ? [running, adminRunning] : [running];
    return {
      url,
      port: running.port,
      listen: `${running.host}:${running.port}`,
      adminUrl: adminRunning && listenerUrl(config, adminRunning),
      app,
      selfSigned: tls && 'bundleFile' in tls ? tls : undefined,
      async shutdown() {
        logger.info('shutting down: finishing in-flight requests');
        const timeoutMs = config.server.shutdownTimeout * 1000;
        await Promise.all([...servers.map((s) => s.close(timeoutMs)), readers?.close(timeoutMs), workers.close()]);
        await pull.close();
        mirror.stop();
        downloads.stop();
        moduleDownloads.stop();
        admin.close();
        await sweeps.stop();
        runtime.close();
        logger.info('stopped');
      },
    };
  } catch (err) {
    await running?.close(0);
    await adminRunning?.close(0);
    await readers?.close(0);
    runtime.close();
    throw err;
  }
}

/** Objects and staging files left by killed ingests, at start and hourly (see packages/sweep.ts), counted in the log. */
function startOrphanSweeps(runtime: Runtime, staging: StagingArea, logger: Logger) {
  return scheduleSweeps({ store: runtime.store, references: runtime.repos.references, staging }, (result, err) => {
    if (err) logger.warn({ err }, 'orphan sweep failed; the next one retries');
    else if (result && result.raced > 0) logger.warn({ sweep: result }, 'orphan sweep raced a concurrent load: rows now name deleted objects; delete those packages and load them again');
    else logger.info({ sweep: result }, 'orphan sweep');
  });
}

async function tlsFor(config: Config): Promise<TlsMaterial | { certFile: string; keyFile: string } | undefined> {
  const s = config.server;
  if (!s.tls) return undefined;
  if (s.tlsCertFile) return { certFile: s.tlsCertFile, keyFile: s.tlsKeyFile };
  const extra = s.publicUrl ? [new URL(s.publicUrl).hostname] : [];
  return ensureSelfSignedTls(path.join(config.dataDir, 'tls'), extra);
}

function connectionLimits(config: Config): ConnectionLimits {
  const s = config.server;
  return { headerTimeoutMs: s.headerTimeout * 1000, requestTimeoutMs: s.requestTimeout * 1000, idleTimeoutMs: s.idleTimeout * 1000, maxConnections: s.maxConnections };
}

function baseUrl(config: Config, running: RunningServer): string {
  if (config.server.publicUrl) return config.server.publicUrl.replace(/\/?$/, '/');
  return listenerUrl(config, running);
}

function listenerUrl(config: Config, running: RunningServer): string {
  const scheme = config.server.tls ? 'https' : 'http';
  // The self-signed certificate names localhost; wildcard binds are reachable there too.
  const loopbackish = ['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost', ''].includes(running.host);
  const host = loopbackish ? 'localhost' : running.host.includes(':') ? `[${running.host}]` : running.host;
  return `${scheme}://${host}:${running.port}/`;
}

/** What a user needs to point Terraform at this server, printed once at start. */
export function gettingStarted(serving: Serving, config: Config): string {
  const lines = [
    '',
    `terraform-mirror is serving ${serving.url}`,
    '',
    'Point Terraform at it (also at GET /client-config and from tfmirror client-config):',
    '',
    clientConfigText(renderClientConfig({ baseUrl: serving.url, upstreams: Object.keys(config.upstreams) }), '  '),
  ];
  if (serving.selfSigned) {
    lines.push(
      `The certificate is signed by a local CA created once for this data directory: ${serving.selfSigned.caFile}`,
      'Trust it in the shell that runs terraform (Linux; on macOS add the CA to the keychain instead):',
      '',
      `  export SSL_CERT_FILE=${serving.selfSigned.bundleFile}`,
      '',
      '(that bundle is the system roots plus the local CA, so other HTTPS keeps working)',
    );
  } else if (!config.server.tls) {
    lines.push('TLS is off (server { tls = false }): Terraform only talks HTTPS to mirrors, so terminate TLS in front of this server.');
  }
  if (config.pullThrough.enabled) {
    lines.push('', `Pull-through is on for ${config.pullThrough.include.join(', ')}: a provider's or module's first install fetches it from its registry, later ones are served from here.`);
  }
  lines.push(
    '',
    `Admin web UI: ${serving.adminUrl ?? serving.url}ui/   (sign in with a user from: tfmirror create-admin --username NAME)`,
    '',
    `Add providers with: tfmirror import DIR   (a directory written by 'terraform providers mirror DIR')`,
    '',
  );
  return lines.join('\n');
}
