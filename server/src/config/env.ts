/**
 * The environment layer: TFM_<BLOCK>_<KEY> for every key in the table (plus
 * TFM_CONFIG, the file path, and the env-only TFM_OPERATOR_TOKEN). Any other
 * TFM_* variable is a typo until proven otherwise, so it is an error — except
 * the service-link variables Kubernetes injects for every Service in the
 * namespace (a Service named "tfm" yields TFM_SERVICE_HOST, TFM_PORT, ...),
 * which we do not control.
 */
import { didYouMean, type Problems, type Setting } from './problems.js';
import { CONFIG_FILE_ENV, KEY_BY_ENV } from './schema.js';
import { fromEnv } from './values.js';

const PREFIX = 'TFM_';

/** Docker-link style names Kubernetes derives from Service names. */
export const KUBERNETES_SERVICE_LINK =
  /_SERVICE_HOST$|_SERVICE_PORT(_.*)?$|_PORT$|_PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$/;

export function readEnvLayer(env: NodeJS.ProcessEnv, cwd: string, problems: Problems): Map<string, Setting> {
  const settings = new Map<string, Setting>();
  const known = [...KEY_BY_ENV.keys(), CONFIG_FILE_ENV];
  // Sorted so the error listing is stable whatever order the platform hands the environment over in.
  const names = Object.keys(env)
    .filter((n) => n.startsWith(PREFIX) && n !== CONFIG_FILE_ENV)
    .sort();
  for (const name of names) {
    const text = env[name];
    if (text === undefined) continue;
    const spec = KEY_BY_ENV.get(name);
    if (!spec) {
      if (!KUBERNETES_SERVICE_LINK.test(name)) {
        problems.raw(`unknown environment variable ${name}${didYouMean(name, known)}`, { key: name });
      }
      continue;
    }
    const origin = { source: 'env', name, dir: cwd } as const;
    const c = fromEnv(spec.kind, text);
    if (c.ok) settings.set(spec.path, { key: spec.path, value: c.value, origin });
    else problems.at(origin, spec.path, c.error);
  }
  return settings;
}
