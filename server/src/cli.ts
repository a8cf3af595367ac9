#!/usr/bin/env node
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.js';
import type { Config } from './config/types.js';
import { DomainError, InvalidInput } from './errors.js';
import { createLogger } from './log.js';

const usage = `tfmirror: a Terraform provider mirror

Usage:
  tfmirror serve  [--config FILE]          run the mirror server: network mirror protocol, admin API,
                                           /metrics, and the job workers
  tfmirror import DIR [--trust-unhashed]   ingest a directory written by 'terraform providers mirror DIR'
                                           (archives its {version}.json gives no hash for need the flag)
  tfmirror load FILE|DIR... [--dry-run] [--platform OS_ARCH...]
                                           mirror the providers that definition files (HCL, YAML, JSON) ask for
                                           from their upstream registries, verified (sha256 + GPG); a lock file
                                           (.terraform.lock.hcl) pins versions and hashes, a Terraform
                                           configuration DIR gives required_providers (newest match of each)
  tfmirror create-admin --username NAME    create an admin; the password is read from stdin
                                           (e.g. printf '%s\\n' "$PASSWORD" | tfmirror create-admin --username alice)
  tfmirror restore KEY|latest              restore the database from a backup in the object store
                                           (POST /admin/api/backup makes one); stop serve first
  tfmirror operator                        run the Kubernetes controller for ProviderSet, ProviderMirror, ModuleSet
                                           (in-cluster service account or KUBECONFIG; operator { server_url })
  tfmirror client-config [--json]          print the Terraform CLI configuration that points clients at this
                                           mirror (network_mirror and host forms; public_url or the listen address)
  tfmirror apply -f FILE|DIR ...           apply ProviderSet/ProviderMirror/ModuleSet YAML once against the server
                                           (operator { server_url }, TFM_OPERATOR_TOKEN), without a cluster
  tfmirror --help | --version

Options:
  -c, --config FILE   HCL configuration file (also TFM_CONFIG); every key can be
                      overridden as TFM_<BLOCK>_<KEY>, e.g. TFM_SERVER_LISTEN
      --dry-run       load: print the resolved versions x platforms, download nothing
      --platform OS_ARCH  load: platforms for lock files and configuration directories
                      (repeatable; required for those, which name none)
      --trust-unhashed  import: also import archives no {version}.json gives a hash for
      --json          client-config: print JSON instead of the commented HCL
  -h, --help          show this help
  -v, --version       print the version

With no configuration, data lives in ./data and 'serve' listens on https://localhost:8443/
with a local CA it creates once under ./data/tls/.
`;

// Commands load their modules on demand, so `--help` and one-shot commands start fast.
type Command = (args: string[], config: () => Promise<Config>, flags: { dryRun: boolean; platform?: string[]; json?: boolean; trustUnhashed?: boolean; username?: string; file?: string[] }) => Promise<number>;

const commands: Record<string, Command> = {
  async serve(_args, config) {
    const cfg = await config();
    const { gettingStarted, startServing } = await import('./commands/serve.js');
    const { logUnhandledRejections } = await import('./commands/process-guards.js');
    const logger = createLogger(cfg.log.level, 'stdout');
    logUnhandledRejections(logger);
    const serving = await startServing(cfg, logger);
    // The banner goes first: the "serving" line is what supervisors and tests wait for.
    process.stderr.write(gettingStarted(serving, cfg));
    logger.info({ url: serving.url, listen: serving.listen, adminUrl: serving.adminUrl, storage: cfg.storage.type, config: cfg.source }, 'serving');
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, 'signal received');
        serving.shutdown().then(resolve, (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve();
        });
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    return 0;
  },
  async load(args, config, flags) {
    const { loadCommand } = await import('./commands/load.js');
    return loadCommand(args, await config(), { dryRun: flags.dryRun, platforms: flags.platform ?? [] });
  },
  async 'create-admin'(args, config, flags) {
    if (!flags.username || args.length > 0) throw new InvalidInput('usage: tfmirror create-admin --username NAME  (password on stdin)');
    const { createAdminCommand } = await import('./commands/create-admin.js');
    return createAdminCommand(flags.username, await config(), process.stdin, process.stdout);
  },
  async restore(args, config) {
    const [key, ...rest] = args;
    if (!key || rest.length > 0) throw new InvalidInput('usage: tfmirror restore KEY|latest   (stop tfmirror serve first)');
    const { restoreCommand } = await import('./commands/restore.js');
    return restoreCommand(key, await config());
  },
  async operator(args, config) {
    if (args.length > 0) throw new InvalidInput('usage: tfmirror operator');
    const cfg = await config();
    const { operatorCommand } = await import('../../operator/src/main.js');
    return operatorCommand(cfg, createLogger(cfg.log.level, 'stdout'));
  },
  async apply(args, config, flags) {
    const paths = [...(flags.file ?? []), ...args];
    if (paths.length === 0) throw new InvalidInput('usage: tfmirror apply -f FILE|DIR ...');
    const { applyCommand } = await import('../../operator/src/apply.js');
    return applyCommand(paths, await config(), process.stdout);
  },
  async 'client-config'(args, config, flags) {
    if (args.length > 0) throw new InvalidInput('usage: tfmirror client-config [--config FILE] [--json]');
    const { clientConfigCommand } = await import('./commands/client-config.js');
    return clientConfigCommand(await config(), process.stdout, { json: flags.json ?? false });
  },
  async import(args, config, flags) {
    const [dir, ...rest] = args;
    if (!dir || rest.length > 0) throw new InvalidInput('usage: tfmirror import DIR [--trust-unhashed]');
    const { importCommand } = await import('./commands/import.js');
    return importCommand(dir, await config(), { trustUnhashed: flags.trustUnhashed ?? false });
  },
};

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      'dry-run': { type: 'boolean' },
      platform: { type: 'string', multiple: true },
      'trust-unhashed': { type: 'boolean' },
      json: { type: 'boolean' },
      username: { type: 'string' },
      file: { type: 'string', short: 'f', multiple: true },
    },
  });
  if (values.version) {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`tfmirror ${pkg.version}\n`);
    return 0;
  }
  const [name, ...args] = positionals;
  if (values.help || !name) {
    process.stdout.write(usage);
    return values.help ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`tfmirror: unknown command "${name}"\n\n${usage}`);
    return 2;
  }
  return command(args, () => loadConfig({ file: values.config, env: process.env, cwd: process.cwd() }), { dryRun: values['dry-run'] ?? false, platform: values.platform, json: values.json ?? false, trustUnhashed: values['trust-unhashed'] ?? false, username: values.username, file: values.file });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Expected failures (bad config, bad input, unreachable storage) are one
    // clear line; anything else is a bug and keeps its stack.
    if (err instanceof DomainError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`tfmirror: ${(err as Error).message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`tfmirror: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
