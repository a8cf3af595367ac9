/**
 * `tfmirror operator`: load the cluster credentials, campaign for the Lease,
 * and run the controller only while leading. Stops gracefully on SIGTERM/SIGINT.
 */

import { KubeConfig } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import type { Config, OperatorConfig } from '../../server/src/config/types.js';
import type { Logger } from '../../server/src/log.js';
import { withKeepAlive } from './kube.js';
import { Operator } from './operator.js';
import { HttpServerClient } from './server-client.js';

export async function operatorToken(operator: OperatorConfig): Promise<string> {
  if (operator.token) return operator.token;
  if (!operator.tokenFile) throw new Error('no operator token: set TFM_OPERATOR_TOKEN or operator.token_file');
  const token = (await readFile(operator.tokenFile, 'utf8')).trim();
  if (!token) throw new Error(`the operator token file ${operator.tokenFile} is empty`);
  return token;
}

/** The namespace of the operator's own Lease. */
export async function leaseNamespace(operator: OperatorConfig): Promise<string> {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  if (operator.namespace) return operator.namespace;
  const sa = await readFile('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').catch(() => '');
  return sa.trim() || 'default';
}

export async function operatorCommand(config: Config, logger: Logger): Promise<number> {
  let token: string;
  try {
    token = await operatorToken(config.operator);
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'cannot start the operator');
    return 2;
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  withKeepAlive(kubeConfig);
  const operator = new Operator({
    kubeConfig,
    server: new HttpServerClient({ baseUrl: config.operator.serverUrl, token }),
    logger,
    namespace: config.operator.namespace,
    leaseNamespace: await leaseNamespace(config.operator),
  });

  return await new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'stopping the operator');
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      operator.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err: String(err) }, 'unclean shutdown');
          resolve(1);
        },
      );
    };
    const onTerm = () => shutdown('SIGTERM');
    const onInt = () => shutdown('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    logger.info({ server: config.operator.serverUrl, identity: operator.identity }, 'operator campaigning for leadership');
    operator.start();
  });
}
