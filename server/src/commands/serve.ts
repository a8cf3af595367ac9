import path from 'node:path';
import type Koa from 'koa';
import type { Config } from '../config/types.js';
import { adminApi } from '../admin/api.js';
import { Metrics, metricsMiddleware, metricsRoute } from '../metrics/index.js';
import { createApp } from '../http/app.js';
import { packageVersion } from '../version.js';
import { listen, type RunningServer } from '../http/listen.js';
import { ensureSelfSignedTls, type TlsMaterial } from '../http/self-signed.js';
import type { Logger } from '../log.js';
import { DownloadCounter } from '../mirror/downloads.js';
import { MirrorService } from '../mirror/service.js';
import { createLoadWorkers } from '../loads/service.js';
import { openRuntime } from '../runtime.js';

export interface Serving {
  /** Base URL clients use, with a trailing slash. */
  url: string;
  port: number;
  /** The bound address. */
  listen: string;
  /** The assembled application (tests inspect its routers). */
  app: Koa;
  /** Present when the server made its own CA. */
  selfSigned?: TlsMaterial;
  shutdown(): Promise<void>;
}

/** Opens data, builds the app and listens. Used by `tfmirror serve` and by tests in-process. */
export async function startServing(config: Config, logger: Logger): Promise<Serving> {
  const runtime = await openRuntime(config);
  let running: RunningServer | undefined;
  try {
    const mirror = new MirrorService(runtime.db, runtime.providers);
    const downloads = new DownloadCounter(runtime.providers);
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

    const admin = adminApi({
      runtime,
      config,
      registries: workers.registries,
      invalidate: () => mirror.invalidate(),
      logger,
      version: packageVersion(),
    });
    const jobStats = runtime.repos.jobStats;
    const metrics = new Metrics({
      cache: () => mirror,
      jobs: () => jobStats.counts(),
      upstream: () => workers.registries.stats(),
      onSourceError: (err: unknown) => logger.warn({ err }, 'metrics source failed'),
    });
    const app = createApp({
      logger,
      db: runtime.db,
      store: runtime.store,
      mirror,
      downloads,
      presignTtl,
      trustedProxies: config.server.trustedProxies,
      routers: [metricsRoute(metrics), admin.router],
      middleware: [metricsMiddleware(metrics)],
    });

    const tls = await tlsFor(config);
    running = await listen(app, { listen: config.server.listen, tls: tls && { certFile: tls.certFile, keyFile: tls.keyFile } });
    mirror.start();
    downloads.start();
    workers.pool.start();

    const url = baseUrl(config, running);
    const server = running;
    return {
      url,
      port: running.port,
      listen: `${running.host}:${running.port}`,
      app,
      selfSigned: tls && 'bundleFile' in tls ? tls : undefined,
      async shutdown() {
        logger.info('shutting down: finishing in-flight requests');
        await Promise.all([server.close(config.server.shutdownTimeout * 1000), workers.close()]);
        mirror.stop();
        downloads.stop();
        admin.close();
        runtime.close();
        logger.info('stopped');
      },
    };
  } catch (err) {
    await running?.close(0);
    runtime.close();
    throw err;
  }
}

async function tlsFor(config: Config): Promise<TlsMaterial | { certFile: string; keyFile: string } | undefined> {
  const s = config.server;
  if (!s.tls) return undefined;
  if (s.tlsCertFile) return { certFile: s.tlsCertFile, keyFile: s.tlsKeyFile };
  const extra = s.publicUrl ? [new URL(s.publicUrl).hostname] : [];
  return ensureSelfSignedTls(path.join(config.dataDir, 'tls'), extra);
}

function baseUrl(config: Config, running: RunningServer): string {
  if (config.server.publicUrl) return config.server.publicUrl.replace(/\/?$/, '/');
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
    'Point Terraform at it: put this in ~/.terraformrc (or a file named by TF_CLI_CONFIG_FILE):',
    '',
    '  provider_installation {',
    '    network_mirror {',
    `      url = "${serving.url}"`,
    '    }',
    '  }',
    '',
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
  lines.push('', `Add providers with: tfmirror import DIR   (a directory written by 'terraform providers mirror DIR')`, '');
  return lines.join('\n');
}
