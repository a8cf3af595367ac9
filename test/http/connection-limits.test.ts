import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import test from 'ava';
import { expectedH1 } from '../fixtures/mirror-directory.js';
import { startMirror, type MirrorUnderTest } from '../fixtures/mirror-server.js';
import { writeZip } from '../fixtures/zips.js';
import { planImport, runImport } from '../../server/src/imports/mirror-directory.js';
import { openRuntime } from '../../server/src/runtime.js';

// Test-short limits: whole seconds are the smallest the config takes.
const SHORT = { TFM_SERVER_HEADER_TIMEOUT: '1', TFM_SERVER_REQUEST_TIMEOUT: '2', TFM_SERVER_IDLE_TIMEOUT: '1' };
// Beyond every limit above plus Node's checking interval; Node's own defaults would keep the socket for minutes.
const GIVE_UP_MS = 8_000;
const SMALL = [{ namespace: 'acme', type: 'small', versions: { '1.0.0': ['linux_amd64'] } }];

function portOf(m: MirrorUnderTest): number {
  return Number(new URL(m.serving.url).port);
}

interface Closed {
  closed: boolean;
  afterMs: number;
  received: string;
}

/** Resolves when the server closes the socket, or after GIVE_UP_MS with closed = false. */
function whenClosed(socket: net.Socket, startedAt: number): Promise<Closed> {
  return new Promise((resolve) => {
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, afterMs: Date.now() - startedAt, received });
    }, GIVE_UP_MS);
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, afterMs: Date.now() - startedAt, received });
    });
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

test('a request whose headers stall is dropped after header_timeout', async (t) => {
  const m = await startMirror(SMALL, SHORT);
  t.teardown(() => m.close());
  const socket = await connect(portOf(m));
  const start = Date.now();
  socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nUser-Agent: half');
  const r = await whenClosed(socket, start);
  t.true(r.closed, 'the server closed the stalled socket');
  t.true(r.afterMs >= 900 && r.afterMs < 5_000, `closed after ${r.afterMs} ms (header_timeout 1 s)`);
});

test('a TLS request whose headers stall is dropped after header_timeout', async (t) => {
  const m = await startMirror(SMALL, { ...SHORT, TFM_SERVER_TLS: 'true' });
  t.teardown(() => m.close());
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: portOf(m), servername: 'localhost', rejectUnauthorized: false }, () => resolve(s));
    s.once('error', reject);
  });
  const start = Date.now();
  socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
  const r = await whenClosed(socket, start);
  t.true(r.closed, 'the server closed the stalled TLS socket');
  t.true(r.afterMs < 5_000, `closed after ${r.afterMs} ms (header_timeout 1 s)`);
});

test('a TLS client that never finishes the handshake is dropped after header_timeout', async (t) => {
  const m = await startMirror(SMALL, { ...SHORT, TFM_SERVER_TLS: 'true' });
  t.teardown(() => m.close());
  const socket = await connect(portOf(m));
  const start = Date.now();
  const r = await whenClosed(socket, start);
  t.true(r.closed, 'the server closed the silent socket');
  t.true(r.afterMs < 5_000, `closed after ${r.afterMs} ms`);
});

test('a login whose body trickles in is dropped after request_timeout', async (t) => {
  // idle_timeout is long here: a byte every 200 ms keeps the socket busy, only the request deadline can end it.
  const m = await startMirror(SMALL, { ...SHORT, TFM_SERVER_IDLE_TIMEOUT: '30' });
  t.teardown(() => m.close());
  const socket = await connect(portOf(m));
  const start = Date.now();
  const body = JSON.stringify({ username: 'alice', password: 'correct horse battery staple' });
  socket.write(`POST /admin/api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  let sent = 0;
  const trickle = setInterval(() => {
    if (!socket.destroyed && sent < body.length) socket.write(body[sent++]!);
  }, 200);
  t.teardown(() => clearInterval(trickle));
  const r = await whenClosed(socket, start);
  clearInterval(trickle);
  t.true(r.closed, 'the server closed the socket with the trickling body');
  t.true(r.afterMs >= 1_500 && r.afterMs < 6_000, `closed after ${r.afterMs} ms (request_timeout 2 s)`);
  t.true(sent < body.length, `only ${sent} of ${body.length} body bytes were sent`);
  t.notRegex(r.received, /HTTP\/1\.1 (200|401)/, 'the login was never processed');
});

test('a login whose body stalls is dropped after idle_timeout', async (t) => {
  const m = await startMirror(SMALL, SHORT);
  t.teardown(() => m.close());
  const socket = await connect(portOf(m));
  const start = Date.now();
  socket.write('POST /admin/api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 80\r\n\r\n{"username":');
  const r = await whenClosed(socket, start);
  t.true(r.closed, 'the server closed the socket with the stalled body');
  t.true(r.afterMs >= 900 && r.afterMs < 5_000, `closed after ${r.afterMs} ms (idle_timeout 1 s)`);
});

/** One stored archive big enough that a client that stops reading leaves the response in flight. */
async function largeProvider(dir: string, bytes = 32 << 20): Promise<string> {
  const typeDir = path.join(dir, 'registry.terraform.io', 'acme', 'large');
  fs.mkdirSync(typeDir, { recursive: true });
  const filename = 'terraform-provider-large_1.0.0_linux_amd64.zip';
  // Larger than what loopback socket buffers absorb, so the server is still writing when the client stalls.
  const entries = [{ name: 'terraform-provider-large_v1.0.0_x5', content: randomBytes(bytes), compress: false, mode: 0o755 }];
  await writeZip(path.join(typeDir, filename), entries);
  fs.writeFileSync(path.join(typeDir, 'index.json'), JSON.stringify({ versions: { '1.0.0': {} } }));
  fs.writeFileSync(path.join(typeDir, '1.0.0.json'), JSON.stringify({ archives: { linux_amd64: { url: filename, hashes: [expectedH1(entries)] } } }));
  return filename;
}

/** Imports the large provider into the running mirror's data (as `tfmirror import` beside it would). */
async function importLargeProvider(m: MirrorUnderTest, bytes?: number): Promise<string> {
  const exportDir = path.join(m.dir, 'large-export');
  const filename = await largeProvider(exportDir, bytes);
  const runtime = await openRuntime(m.config);
  try {
    await runImport(planImport(exportDir), { store: runtime.store, providers: runtime.providers, limits: m.config.limits });
  } finally {
    runtime.close();
  }
  return filename;
}

/** File descriptors of this process open on files under `dir`. */
function openFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // Closed between readdir and readlink.
    }
  }
  return out;
}

test('a download whose client stops reading is destroyed after idle_timeout and its file is closed', async (t) => {
  if (!fs.existsSync('/proc/self/fd')) return t.pass('no /proc/self/fd on this system to count open files');
  const m = await startMirror(SMALL, SHORT);
  t.teardown(() => m.close());
  const filename = await importLargeProvider(m);
  const storageDir = path.join(m.dir, 'data', 'storage');

  const socket = await connect(portOf(m));
  let received = 0;
  const stalled = new Promise<void>((resolve) => {
    socket.once('data', (d: Buffer) => {
      received += d.length;
      // The response has started: stop reading and let the buffers fill.
      socket.pause();
      resolve();
    });
  });
  socket.write(`GET /registry.terraform.io/acme/large/${filename} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  await stalled;
  t.deepEqual(
    openFilesUnder(storageDir).map((f) => path.basename(f)),
    [filename],
    'the archive is open while the download is in flight',
  );
  // A paused client cannot see the server's close (it reads nothing), so watch the server's file handle.
  const start = Date.now();
  while (openFilesUnder(storageDir).length > 0 && Date.now() - start < GIVE_UP_MS) await new Promise((res) => setTimeout(res, 25));
  const afterMs = Date.now() - start;
  t.deepEqual(openFilesUnder(storageDir), [], 'no file under the store is left open');
  t.true(afterMs >= 900 && afterMs < 6_000, `the file was closed after ${afterMs} ms (idle_timeout 1 s)`);
  // Reading again drains what the socket buffers held, then the end: the download was cut short.
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  socket.on('data', (d: Buffer) => (received += d.length));
  socket.resume();
  await ended;
  t.true(received < 32 << 20, `the client got ${received} bytes of ${32 << 20}, then the socket closed`);
});

test('a download read slowly but steadily outlives request_timeout and idle_timeout', async (t) => {
  const m = await startMirror(SMALL, SHORT);
  t.teardown(() => m.close());
  const size = 4 << 20;
  const filename = await importLargeProvider(m, size);
  const socket = await connect(portOf(m));
  const start = Date.now();
  let received = 0;
  const done = new Promise<string>((resolve) => {
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.on('close', () => resolve('closed'));
    socket.on('error', () => {});
  });
  socket.write(`GET /registry.terraform.io/acme/large/${filename} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  // Read in short bursts with pauses under idle_timeout, for longer than request_timeout.
  while (Date.now() - start < 3_000) {
    socket.pause();
    await new Promise((r) => setTimeout(r, 400));
    socket.resume();
    await new Promise((r) => setTimeout(r, 20));
  }
  socket.resume();
  await done;
  t.true(Date.now() - start >= 3_000);
  t.true(received > size, `the whole archive arrived (${received} bytes with headers)`);
});

test('connections beyond max_connections are closed on accept, and accepted again once one goes', async (t) => {
  const m = await startMirror(SMALL, { TFM_SERVER_MAX_CONNECTIONS: '2' });
  t.teardown(() => m.close());
  const port = portOf(m);
  const first = await connect(port);
  const second = await connect(port);
  // The server counts a connection once it has accepted it; a request round trip proves both are counted.
  for (const s of [first, second]) {
    const answered = new Promise<void>((resolve) => s.once('data', () => resolve()));
    s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await answered;
  }
  const third = await connect(port);
  third.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  const r = await whenClosed(third, Date.now());
  t.true(r.closed, 'the third connection was closed');
  t.is(r.received, '', 'and got no response');

  const firstGone = new Promise((resolve) => first.once('close', resolve));
  first.destroy();
  await firstGone;
  // The server frees the slot when it sees the close; on a busy machine that can take a moment.
  let answer = '';
  for (let i = 0; i < 20 && answer === ''; i++) {
    await new Promise((res) => setTimeout(res, 100));
    const fourth = await connect(port);
    fourth.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    answer = (await whenClosed(fourth, Date.now())).received;
  }
  t.regex(answer, /^HTTP\/1\.1 200/);
  second.destroy();
});
