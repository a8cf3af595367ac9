import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { cleanEnv, cliPath } from '../fixtures/tfmirror.js';
import { freePort, readyzStatus } from '../fixtures/readiness.js';

/**
 * Libraries `serve` needs only for work it may never do (a certificate to make,
 * a signature to check, S3, HCL definitions, Kubernetes): loading them cost a
 * start several hundred milliseconds.
 */
const HEAVY = ['openpgp', '@peculiar/x509', '@aws-sdk/', '@cdktf/hcl2json', '@kubernetes/client-node'];

/** Module hooks that write every URL the process imports to `out` (they run in the loader's own thread). */
function writeImportRecorder(dir: string, out: string): string {
  const hooks = path.join(dir, 'record-hooks.mjs');
  fs.writeFileSync(
    hooks,
    `import fs from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  fs.appendFileSync(out, r.url + '\\n');
  return r;
}\n`,
  );
  const register = path.join(dir, 'record.mjs');
  fs.writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { out: ${JSON.stringify(out)} } });\n`);
  return register;
}

/** Starts `serve` recording its imports, waits for /readyz to answer 200, stops it, returns the imported URLs. */
async function importsOfAServe(dir: string, env: Record<string, string>): Promise<string[]> {
  const out = path.join(dir, `imports-${Math.random().toString(36).slice(2)}.txt`);
  const register = writeImportRecorder(dir, out);
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', register, cliPath, 'serve'], {
    env: cleanEnv({ ...env, TFM_SERVER_LISTEN: `127.0.0.1:${port}` }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    const deadline = Date.now() + 30_000;
    while ((await readyzStatus(port, env.TFM_SERVER_TLS === 'true')) !== 200) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not become ready:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
}

const heavyIn = (urls: string[]) => HEAVY.filter((lib) => urls.some((u) => u.includes(`/node_modules/${lib}`)));

function tempData(t: { teardown(fn: () => void): void }): { dir: string; env: Record<string, string> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-serve-start-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, env: { TFM_DATA_DIR: path.join(dir, 'data'), TFM_LOG_LEVEL: 'warn' } };
}

test('serve with filesystem storage becomes ready without loading openpgp, x509, the AWS SDK, hcl2json or the Kubernetes client', async (t) => {
  const { dir, env } = tempData(t);
  const urls = await importsOfAServe(dir, { ...env, TFM_SERVER_TLS: 'false' });
  t.true(urls.some((u) => u.includes('/node_modules/koa/')), 'the recorder sees package imports');
  t.deepEqual(heavyIn(urls), []);
});

test('serve loads the certificate library only on the start that has to make the certificate', async (t) => {
  const { dir, env } = tempData(t);
  const tlsEnv = { ...env, TFM_SERVER_TLS: 'true' };
  const first = await importsOfAServe(dir, tlsEnv);
  t.deepEqual(heavyIn(first), ['@peculiar/x509']);
  t.true(fs.existsSync(path.join(env.TFM_DATA_DIR!, 'tls', 'server.crt')));
  const second = await importsOfAServe(dir, tlsEnv);
  t.deepEqual(heavyIn(second), []);
});
