import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import test from 'ava';
import { startServe, type ServeProcess } from '../fixtures/tfmirror.js';

const provoker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'provoke-rejection.js');
const TOKEN = 'a3f1c9e27b5d4086e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-rejections-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function healthz(server: ServeProcess): Promise<number> {
  const res = await fetch(new URL('healthz', server.url));
  await res.arrayBuffer();
  return res.status;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return cond();
}

test('an unhandled rejection is logged and serve goes on serving', async (t) => {
  const dir = tempDir(t);
  const server = await startServe({
    TFM_DATA_DIR: path.join(dir, 'data'),
    TFM_SERVER_LISTEN: '127.0.0.1:0',
    TFM_SERVER_TLS: 'false',
    NODE_OPTIONS: `--import ${pathToFileURL(provoker).href}`,
  });
  t.teardown(() => void server.stop());
  server.child.kill('SIGUSR2');
  t.true(await waitFor(() => /unhandled promise rejection/.test(server.stdout()), 10_000), server.stdout() + server.stderr());
  const line = server.stdout().split('\n').find((l) => l.includes('unhandled promise rejection'))!;
  const entry = JSON.parse(line) as { level: number; err?: { message?: string } };
  t.is(entry.err?.message, 'provoked rejection for the test', 'the log names the rejection');
  t.is(server.child.exitCode, null, 'the process is still running');
  t.is(await healthz(server), 200);
  t.is(await server.stop(), 0, 'and still stops cleanly');
});

/** An upstream with no discovery document: each discovery fails at once (404, not retried). */
async function upstreamWithoutDiscovery(t: { teardown(fn: () => void): void }): Promise<{ port: number; requests: () => number }> {
  let requests = 0;
  const s = http.createServer((_req, res) => {
    requests++;
    res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => s.close());
  return { port: (s.address() as net.AddressInfo).port, requests: () => requests };
}

test('a load whose client goes away before discovery fails does not end serve', async (t) => {
  const dir = tempDir(t);
  const configFile = path.join(dir, 'tfm.hcl');
  const upstream = await upstreamWithoutDiscovery(t);
  fs.writeFileSync(configFile, `upstream "registry.terraform.io" {\n  url = "http://127.0.0.1:${upstream.port}/"\n}\n`);
  const server = await startServe({
    TFM_CONFIG: configFile,
    TFM_DATA_DIR: path.join(dir, 'data'),
    TFM_SERVER_LISTEN: '127.0.0.1:0',
    TFM_SERVER_TLS: 'false',
    TFM_AUTH_OPERATOR_TOKEN: TOKEN,
  });
  t.teardown(() => void server.stop());
  // Enough definitions that parsing them outlasts the client: the plan then
  // starts discovery for a caller that has already gone.
  const body = Array.from({ length: 300 }, (_, i) => `provider "hashicorp/p${i}" {\n  versions = ["1.0.0"]\n  platforms = ["linux_amd64"]\n}\n`).join('');
  const port = Number(new URL(server.url).port);
  for (let attempt = 0; attempt < 3; attempt++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(
      `POST /admin/api/providers/load HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await new Promise((r) => setTimeout(r, 20));
    socket.destroy();
  }
  // Each load reaches its plan once its definitions are parsed, after its client has gone;
  // a discovery started then fails at once (404).
  const handled = () => server.stdout().split('\n').filter((l) => l.includes('"path":"/admin/api/providers/load"')).length;
  t.true(await waitFor(() => handled() >= 3 || server.child.exitCode !== null, 20_000), `${handled()} loads were handled`);
  await new Promise((r) => setTimeout(r, 1_000));
  t.is(server.child.exitCode, null, `serve is still running:\n${server.stderr()}\n${server.stdout()}`);
  t.is(await healthz(server), 200);
  t.log(`discovery was asked ${upstream.requests()} times`);
});
