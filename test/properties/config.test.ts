/**
 * Property tests for the configuration parser (HCL file + TFM_* environment):
 * mutated valid config files and random environments give a Config or an
 * InvalidInput naming the problem — in bounded time and memory; a key set in
 * the file or in the environment gives the same value.
 */

import test from 'ava';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/src/config/load.js';
import { KEYS, envName } from '../../server/src/config/schema.js';
import { InvalidInput } from '../../server/src/errors.js';
import { assertProperty, outcome } from './helpers.js';
import { validConfig } from './documents.js';
import { insertion, mutatedText } from './mutate.js';

// CPU time per case, hcl2json included (it runs on a thread of this process).
const CPU_MS = 2000;
const ALLOWED = [InvalidInput] as const;

let dir = '';
test.before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-config-props-'));
});
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
async function load(text: string | undefined, env: NodeJS.ProcessEnv) {
  const file = text === undefined ? undefined : path.join(dir, `c${counter++}.hcl`);
  if (file) fs.writeFileSync(file, text!);
  try {
    return await outcome(() => loadConfig({ file, env, cwd: dir }), { cpuMs: CPU_MS, allowed: ALLOWED });
  } finally {
    if (file) fs.rmSync(file, { force: true });
  }
}

test.serial('valid config files load', async (t) => {
  await assertProperty(
    t,
    validConfig,
    async (text) => {
      const r = await load(text, {});
      if (!r.ok) throw new Error(`valid config refused:\n${text}\n${r.error.message}`);
    },
    { numRuns: 60 },
  );
});

test.serial('mutated config files give a Config or an InvalidInput', async (t) => {
  await assertProperty(t, mutatedText(validConfig, 6), async (text) => void (await load(text, {})), { numRuns: 250 });
});

const ENV_VALUES = ['', 'true', 'false', 'yes', '0', '1', '-1', '15m', '1h30m', '2GiB', '10MB', 'a,b,,c', ' , ', 'debug', 's3', 'filesystem', '127.0.0.1:0', 'https://x.example/', '99999999999999999999', '1e309', 'NaN', '10.0.0.0/8', '::1/129'];
const envName_ = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...KEYS.map((k) => envName(k.path))) },
  { weight: 1, arbitrary: fc.constantFrom('TFM_CONFIG', 'TFM_SERVICE_HOST', 'TFM_PORT_8080_TCP_ADDR', 'TFM_SERVER', 'TFM_', 'TFM_SERVER_LISTENN', 'tfm_server_listen') },
  { weight: 1, arbitrary: fc.stringMatching(/^TFM_[A-Z_]{0,20}$/) },
);
const envValue = fc.oneof(fc.constantFrom(...ENV_VALUES), insertion, mutatedText(fc.constantFrom(...ENV_VALUES), 3), fc.string({ unit: 'binary', maxLength: 40 }));
const environment = fc.dictionary(envName_, envValue, { maxKeys: 8 }).map((env) => {
  // TFM_CONFIG would name a file; the file-less path is what this property is about.
  delete env['TFM_CONFIG'];
  return env;
});

test.serial('random TFM_* environments give a Config or an InvalidInput', async (t) => {
  await assertProperty(t, environment, async (env) => void (await load(undefined, env)), { numRuns: 800 });
});

test.serial('random environments over mutated config files give a Config or an InvalidInput', async (t) => {
  await assertProperty(t, fc.tuple(mutatedText(validConfig, 3), environment), async ([text, env]) => void (await load(text, env)), {
    numRuns: 100,
  });
});

/** Values written both ways: [key, HCL literal, environment text]. */
const SAME_VALUE: Array<[string, string, string]> = [
  ['server.listen', '"0.0.0.0:9443"', '0.0.0.0:9443'],
  ['server.tls', 'false', 'false'],
  ['server.tls', 'true', 'yes'],
  ['server.shutdown_timeout', '"1m30s"', '1m30s'],
  ['server.max_connections', '77', '77'],
  ['storage.presign_ttl', '3600', '3600'],
  ['pull_through.include', '["a.example/*/*", "b.example/x/*"]', 'a.example/*/*,b.example/x/*'],
  ['jobs.concurrency', '7', '7'],
  ['limits.zip_max_uncompressed_bytes', '"10MiB"', '10MiB'],
  ['log.level', '"warn"', 'warn'],
];

test.serial('a key set in the file or in the environment gives the same Config', async (t) => {
  await assertProperty(
    t,
    fc.subarray(SAME_VALUE, { minLength: 1 }).filter((picked) => new Set(picked.map((p) => p[0])).size === picked.length),
    async (picked) => {
      const byBlock = new Map<string, string[]>();
      for (const [key, hcl] of picked) {
        const [block, name] = key.split('.') as [string, string];
        byBlock.set(block, [...(byBlock.get(block) ?? []), `  ${name} = ${hcl}`]);
      }
      const text = [...byBlock].map(([block, lines]) => `${block} {\n${lines.join('\n')}\n}\n`).join('\n');
      const fromFile = await load(text, {});
      const fromEnv = await load(undefined, Object.fromEntries(picked.map(([key, , env]) => [envName(key), env])));
      if (!fromFile.ok || !fromEnv.ok) throw new Error(`refused: ${fromFile.ok ? '' : fromFile.error.message} ${fromEnv.ok ? '' : fromEnv.error.message}`);
      t.deepEqual({ ...fromFile.value, source: '' }, { ...fromEnv.value, source: '' });
    },
    { numRuns: 40 },
  );
});

// Found while property-testing the HCL scanners: a valid value with templates nested 5,000 deep
// ("${"${...}"}") made loadConfig throw a RangeError (call stack exceeded) instead of loading.
test('a config value with templates nested 5,000 deep loads or is refused, without a crash', async (t) => {
  const text = `data_dir = ${'"${'.repeat(5000)}"state"${'}"'.repeat(5000)}\n`;
  const r = await load(text, {});
  t.true(r.ok || r.error instanceof InvalidInput);
});

// Found with the definitions' HCL bound below: the same parser crash through a config file.
test('a config file nested 3,000 deep is an InvalidInput, and the next config file still loads', async (t) => {
  for (const text of [`data_dir = ${'{a = '.repeat(3000)}1${'}'.repeat(3000)}\n`, `data_dir = ${'('.repeat(3000)}"x"${')'.repeat(3000)}\n`]) {
    const r = await load(text, {});
    t.true(!r.ok && r.error instanceof InvalidInput);
  }
  const r = await load('data_dir = "./state"\n', {});
  t.true(r.ok);
});
