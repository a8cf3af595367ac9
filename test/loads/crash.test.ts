import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { loadSetup } from '../fixtures/load-setup.js';
import { cleanEnv, cliPath, runCli } from '../fixtures/tfmirror.js';

test('a load killed with SIGKILL mid-download leaves nothing visible, and the next load completes', async (t) => {
  const s = await loadSetup([], { bigPackage: { namespace: 'acme', type: 'big', version: '1.0.0', platform: 'linux_amd64', sizeBytes: 64 << 20 } });
  t.teardown(() => s.close());
  const defs = s.writeDefinitions('defs.yaml', 'providers:\n  - source: acme/big\n    versions: ["1.0.0"]\n    platforms: [linux_amd64]\n');

  const child = spawn(process.execPath, [cliPath, 'load', defs], { env: cleanEnv(s.env), stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  // Kill once part of the archive is on disk: mid-download, not before or after.
  const staging = path.join(s.dir, 'data', 'staging');
  const stagedBytes = () => (fs.existsSync(staging) ? fs.readdirSync(staging).reduce((n, f) => n + fs.statSync(path.join(staging, f)).size, 0) : 0);
  for (let i = 0; i < 3000 && stagedBytes() < 1 << 20; i++) await new Promise((r) => setTimeout(r, 10));
  const partial = stagedBytes();
  child.kill('SIGKILL');
  t.true(partial > 0 && partial < 64 << 20, `killed with ${partial} bytes staged`);
  t.is(await exited, 'SIGKILL');

  t.deepEqual(s.packages(), [], 'no row');
  t.deepEqual(s.storedZips(), [], 'no partial object');

  const again = await runCli(['load', defs], s.env, { timeoutMs: 120_000 });
  t.is(again.code, 0, again.stdout + again.stderr);
  t.regex(again.stdout, /1 loaded/);
  const rows = s.packages();
  t.is(rows.length, 1, 'no duplicate rows');
  t.is(rows[0]!.sha256, s.registry.release('acme', 'big', '1.0.0').packages.get('linux_amd64')!.sha256);
  t.deepEqual(s.storedZips(), ['terraform-provider-big_1.0.0_linux_amd64.zip']);
  t.deepEqual(fs.readdirSync(path.join(s.dir, 'data', 'staging')), [], 'the dead process staging file was swept');
});
