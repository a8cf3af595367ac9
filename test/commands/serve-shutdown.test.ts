import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { expectedH1 } from '../fixtures/mirror-directory.js';
import { runCli, startServe } from '../fixtures/tfmirror.js';
import { writeZip } from '../fixtures/zips.js';

/** An export with one archive big enough that a paused reader keeps the response in flight. */
async function writeLargeExport(dir: string): Promise<{ filename: string; sha256: string }> {
  const typeDir = path.join(dir, 'registry.terraform.io', 'acme', 'large');
  fs.mkdirSync(typeDir, { recursive: true });
  const filename = 'terraform-provider-large_1.0.0_linux_amd64.zip';
  const entries = [{ name: 'terraform-provider-large_v1.0.0_x5', content: randomBytes(16 << 20), compress: false, mode: 0o755 }];
  await writeZip(path.join(typeDir, filename), entries);
  fs.writeFileSync(path.join(typeDir, 'index.json'), JSON.stringify({ versions: { '1.0.0': {} } }));
  fs.writeFileSync(path.join(typeDir, '1.0.0.json'), JSON.stringify({ archives: { linux_amd64: { url: filename, hashes: [expectedH1(entries)] } } }));
  const sha256 = createHash('sha256').update(fs.readFileSync(path.join(typeDir, filename))).digest('hex');
  return { filename, sha256 };
}

test('SIGTERM stops accepting, lets an in-flight download finish, then exits 0', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-shutdown-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const archive = await writeLargeExport(path.join(dir, 'export'));
  const env = { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_SERVER_TLS: 'false' };
  t.is((await runCli(['import', path.join(dir, 'export')], env)).code, 0);
  const server = await startServe(env);
  const url = new URL(`${server.url}registry.terraform.io/acme/large/${archive.filename}`);
  const port = Number(url.port);

  const hash = createHash('sha256');
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: url.pathname }, (res) => {
        t.is(res.statusCode, 200);
        res.once('data', (first: Buffer) => {
          hash.update(first);
          received += first.length;
          res.pause();
          // Mid-download: ask the server to stop, then keep reading.
          server.child.kill('SIGTERM');
          setTimeout(() => {
            res.on('data', (c: Buffer) => {
              hash.update(c);
              received += c.length;
            });
            res.resume();
          }, 500);
        });
        res.on('end', resolve);
        res.on('error', reject);
      })
      .on('error', reject);
  });

  // Probe only once the server says it is shutting down (the signal is sent mid-download).
  for (let i = 0; i < 100 && !/shutting down/.test(server.stdout()); i++) await new Promise((r) => setTimeout(r, 50));
  t.regex(server.stdout(), /shutting down/);
  const refused = await new Promise<string>((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/healthz' }, () => resolve('accepted')).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  t.is(refused, 'ECONNREFUSED', 'no new connections once shutting down');

  await done;
  t.is(hash.digest('hex'), archive.sha256, `all ${received} bytes arrived intact`);
  t.is(await server.exited, 0);
  t.regex(server.stdout(), /"msg":"stopped"/);
});
