/**
 * `serve` with server.workers = 2, as a real process tree: the writer and one
 * read-serving worker sharing the listening socket. Which process accepts a
 * connection is the kernel's choice, so tests that need both send requests on
 * fresh connections until both have answered (bounded), and read from the
 * access log and /metrics which one did.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import test from 'ava';
import { AuditRepository } from '../../server/src/db/audit.js';
import { openDatabase } from '../../server/src/db/database.js';
import { writeMirrorDirectory } from '../fixtures/mirror-directory.js';
import { runCli, startServe, type ServeProcess } from '../fixtures/tfmirror.js';

const INDEX = '/registry.terraform.io/hashicorp/null/index.json';

interface Started {
  dir: string;
  env: Record<string, string>;
  serve: ServeProcess;
  /** Base URL naming 127.0.0.1. */
  base: string;
  /** The directory the server was told is its temp dir (TMPDIR): the internal socket lives there. */
  tmp: string;
}

async function start(t: import('ava').ExecutionContext, env: Record<string, string> = {}): Promise<Started> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-workers-'));
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp);
  const full = { TFM_DATA_DIR: path.join(dir, 'data'), TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_SERVER_TLS: 'false', TFM_SERVER_WORKERS: '2', TFM_AUTH_BCRYPT_COST: '10', TMPDIR: tmp, ...env };
  const exportDir = path.join(dir, 'export');
  await writeMirrorDirectory(exportDir, [{ namespace: 'hashicorp', type: 'null', versions: { '3.2.2': ['linux_amd64'] } }]);
  const imported = await runCli(['import', exportDir], full);
  if (imported.code !== 0) throw new Error(imported.stderr);
  const serve = await startServe(full);
  t.teardown(async () => {
    await serve.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, env: full, serve, base: serve.url.replace('//localhost:', '//127.0.0.1:'), tmp };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a connection of its own, so the kernel picks a process for it afresh. */
function fresh(base: string, pathname: string, opts: { method?: string; headers?: Record<string, string>; body?: string; ca?: Buffer } = {}): Promise<Answer> {
  const url = new URL(pathname, base);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false, ca: opts.ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to ${opts.method ?? 'GET'} ${pathname} in 15 s`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Access-log lines of `serve`'s stdout for a path: those a worker wrote carry its number. */
interface RequestLine {
  msg?: string;
  path?: string;
  worker?: number;
  remote?: string;
  status: number;
  bytes?: number;
  sentBy?: string;
}

function requestLines(s: Started, pathname: string): RequestLine[] {
  return s.serve
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as RequestLine)
    .filter((l) => l.msg === 'request' && l.path === pathname);
}

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The serve process's children (Linux /proc): its read-serving workers. */
function workerPids(pid: number): number[] {
  const out: number[] = [];
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    const text = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    for (const child of text ? text.split(/\s+/).map(Number) : []) {
      try {
        if (fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('serving/reader.js')) out.push(child);
      } catch {
        // Gone meanwhile.
      }
    }
  }
  return out;
}

async function until<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const isLinux = process.platform === 'linux';

test('two processes answer the main listener, each the same bytes, and /metrics counts what both answered', async (t) => {
  const s = await start(t);
  if (isLinux) t.is(workerPids(s.serve.child.pid!).length, 1, 'one read-serving worker beside the writer');
  const first = await fresh(s.base, INDEX);
  t.is(first.status, 200);
  let sent = 1;
  // Until the worker has answered the document from its own copy and the writer has answered it too.
  await until('answers from both processes', async () => {
    const res = await fresh(s.base, INDEX);
    sent++;
    t.is(res.body, first.body);
    t.is(res.headers.etag, first.headers.etag);
    const lines = requestLines(s, INDEX);
    if (sent > 400) throw new Error(`400 connections did not reach both processes: ${lines.length} logged`);
    return lines.some((l) => l.worker === 1) && lines.some((l) => l.worker === undefined) ? true : undefined;
  });
  const lines = requestLines(s, INDEX);
  t.true(lines.some((l) => l.worker === 1), 'the worker answered some');
  t.true(lines.some((l) => l.worker === undefined), 'the writer answered some');
  // Log lines reach the writer's stdout in batches: wait for every one.
  await until('every access line', async () => (requestLines(s, INDEX).length === sent ? true : undefined));
  t.true(lines.every((l) => l.status === 200 && l.remote === '127.0.0.1'));

  const text = (await fresh(s.base, '/metrics')).body;
  t.is(metric(text, 'http_requests_total{method="GET",route="/:hostname/:namespace/:type/:file",status="200"}'), sent);
  t.true(text.includes('worker_requests_passed_on_total'));
  t.true(text.includes('process_resident_memory_bytes'), "the writer's own series are still there");
});

/** Failed logins on fresh connections until some went through the worker; returns the addresses the audit log recorded. */
async function loginAddresses(t: import('ava').ExecutionContext, env: Record<string, string>): Promise<{ ips: (string | null)[]; passedOn: number }> {
  const s = await start(t, env);
  const logins = 12;
  for (let i = 0; i < logins; i++) {
    const res = await fresh(s.base, '/admin/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9', 'x-tfmirror-hop-peer': '198.51.100.7' },
      // One username per attempt: the same one would be throttled after five.
      body: JSON.stringify({ username: `nobody-${i}`, password: 'wrong password 123' }),
    });
    t.is(res.status, 401);
  }
  const passedOn = metric((await fresh(s.base, '/metrics')).body, 'worker_requests_passed_on_total');
  const db = openDatabase(path.join(s.dir, 'data', 'tfmirror.db'));
  try {
    const { items } = new AuditRepository(db).query({ action: 'auth.login', limit: 100, offset: 0 });
    return { ips: items.map((i) => i.ip), passedOn };
  } finally {
    db.close();
  }
}

test('requests a worker passes on reach the writer as the client sent them: no trusted proxy, the audit log records the TCP peer', async (t) => {
  const { ips, passedOn } = await loginAddresses(t, {});
  t.true(passedOn >= 1, `some logins went through the worker (${passedOn})`);
  t.is(ips.length, 12);
  // Neither the forged X-Forwarded-For nor a forged hop header is believed.
  t.true(ips.every((ip) => ip === '127.0.0.1'), ips.join(','));
});

test('requests a worker passes on reach the writer as the client sent them: behind a trusted proxy, the proxy\'s client', async (t) => {
  const { ips, passedOn } = await loginAddresses(t, { TFM_SERVER_TRUSTED_PROXIES: '127.0.0.1/32' });
  t.true(passedOn >= 1, `some logins went through the worker (${passedOn})`);
  t.is(ips.length, 12);
  t.true(ips.every((ip) => ip === '203.0.113.9'), ips.join(','));
});

/** GET on a fresh connection, the body as bytes. */
function freshBytes(base: string, pathname: string, headers: Record<string, string> = {}, agent: http.Agent | false = false): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(pathname, base), { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to GET ${pathname} in 15 s`)));
    req.on('error', reject);
  });
}

test('archives are sent by whichever process accepted the connection: whole and ranged downloads are the archive\'s bytes, each whole one counted once', async (t) => {
  const s = await start(t);
  const archive = path.join(s.dir, 'export', 'registry.terraform.io', 'hashicorp', 'null', 'terraform-provider-null_3.2.2_linux_amd64.zip');
  const bytes = fs.readFileSync(archive);
  const url = `/registry.terraform.io/hashicorp/null/3.2.2/terraform-provider-null_3.2.2_linux_amd64.zip`;
  let whole = 0;
  // Each download on a connection of its own that stays open: a client closing first could race the server's
  // 'finish', and bytes_served_total counts only responses the socket took in full.
  const agents: http.Agent[] = [];
  t.teardown(() => agents.forEach((a) => a.destroy()));
  // Until the worker sent some (it streams the file itself, the writer only names it) and the writer some itself.
  await until('a download through the worker', async () => {
    const agent = new http.Agent({ keepAlive: true });
    agents.push(agent);
    // A client offering to read files itself is not a worker: the writer's public listener ignores the offer.
    const res = await freshBytes(s.base, url, { 'x-tfmirror-hop-offload': 'file' }, agent);
    whole++;
    t.is(res.status, 200);
    t.true(res.body.equals(bytes));
    t.is(res.headers['content-length'], String(bytes.length));
    t.is(res.headers['accept-ranges'], 'bytes');
    t.is(res.headers.etag, `"${createHash('sha256').update(bytes).digest('hex')}"`);
    for (const name of Object.keys(res.headers)) t.false(name.startsWith('x-tfmirror-'), name);
    if (whole > 60) throw new Error('60 connections did not reach the worker');
    const lines = requestLines(s, url);
    const byWorker = lines.some((l) => l.sentBy === 'worker' && l.bytes === bytes.length);
    const byWriter = lines.some((l) => l.sentBy === undefined && l.bytes === bytes.length);
    return byWorker && byWriter ? true : undefined;
  });
  // Both processes count what they sent.
  await until('every download counted in bytes_served_total', async () => (metric((await fresh(s.base, '/metrics')).body, 'bytes_served_total') === whole * bytes.length ? true : undefined), 5_000);
  for (let i = 0; i < 10; i++) {
    const part = await freshBytes(s.base, url, { range: 'bytes=10-99' });
    t.is(part.status, 206);
    t.is(part.headers['content-range'], `bytes 10-99/${bytes.length}`);
    t.true(part.body.equals(bytes.subarray(10, 100)));
  }
  t.is(await s.serve.stop(), 0);
  const db = openDatabase(path.join(s.dir, 'data', 'tfmirror.db'));
  try {
    const row = db.prepare('SELECT download_count AS n FROM provider_packages').get() as { n: number };
    t.is(row.n, whole, 'ranges from byte 10 are not downloads');
  } finally {
    db.close();
  }
});

test('a write by another process reaches every process: an imported version is listed by every answer', async (t) => {
  const s = await start(t);
  // Warm both copies.
  for (let i = 0; i < 30; i++) t.is((await fresh(s.base, INDEX)).status, 200);
  const exportDir = path.join(s.dir, 'export-2');
  await writeMirrorDirectory(exportDir, [{ namespace: 'hashicorp', type: 'null', versions: { '3.3.0': ['linux_amd64'] } }]);
  t.is((await runCli(['import', exportDir], s.env)).code, 0);
  await until('the new version everywhere', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => fresh(s.base, INDEX)));
    return answers.every((a) => a.body.includes('3.3.0')) ? true : undefined;
  });
  // And it stays so: no process answers from an older copy afterwards.
  for (let i = 0; i < 30; i++) t.true((await fresh(s.base, INDEX)).body.includes('3.3.0'));
});

test('a killed worker is restarted while the writer serves on; SIGTERM stops every process and removes the internal socket', async (t) => {
  if (!isLinux) return t.pass('process tree inspection needs /proc');
  const s = await start(t);
  const [worker] = workerPids(s.serve.child.pid!);
  t.truthy(worker);
  t.truthy(fs.readdirSync(s.tmp).find((d) => d.startsWith('tfmirror-')), 'the internal socket directory is in the temp dir');
  process.kill(worker!, 'SIGKILL');
  const replacement = await until('a new worker', async () => workerPids(s.serve.child.pid!).find((p) => p !== worker));
  t.not(replacement, worker);
  for (let i = 0; i < 20; i++) t.is((await fresh(s.base, INDEX)).status, 200);
  t.regex(s.serve.stdout(), /read-serving worker exited; restarting it/);

  t.is(await s.serve.stop(), 0);
  t.throws(() => process.kill(replacement, 0), undefined, 'the worker is gone too');
  t.deepEqual(fs.readdirSync(s.tmp), [], 'the internal socket directory is removed');
});

test('a writer killed with SIGKILL takes its workers with it: none goes on serving alone', async (t) => {
  if (!isLinux) return t.pass('process tree inspection needs /proc');
  const s = await start(t);
  const [worker] = workerPids(s.serve.child.pid!);
  s.serve.child.kill('SIGKILL');
  await s.serve.exited;
  await until('the worker to exit', async () => {
    try {
      process.kill(worker!, 0);
      return undefined;
    } catch {
      return true;
    }
  });
  t.pass();
});

test('over TLS, a session resumes on whichever process accepts the next connection (shared ticket keys)', async (t) => {
  const s = await start(t, { TFM_SERVER_TLS: 'true' });
  const ca = fs.readFileSync(path.join(s.dir, 'data', 'tls', 'ca.crt'));
  const port = Number(new URL(s.base).port);
  const connect = (session?: Buffer) =>
    new Promise<{ reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
      let ticket: Buffer | undefined;
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca, session, minVersion: 'TLSv1.3' });
      socket.on('session', (sess: Buffer) => (ticket = sess));
      socket.once('secureConnect', () => {
        // A request and its answer, so the server's ticket arrives before the connection closes.
        socket.write(`GET ${INDEX} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      });
      let text = '';
      socket.on('data', (d: Buffer) => (text += d));
      socket.once('end', () => (text.startsWith('HTTP/1.1 200') ? resolve({ reused: socket.isSessionReused(), session: ticket }) : reject(new Error(text.slice(0, 200)))));
      socket.once('error', reject);
    });
  const first = await connect();
  t.truthy(first.session);
  const resumed = await Promise.all(Array.from({ length: 20 }, () => connect(first.session)));
  t.true(resumed.every((r) => r.reused), `${resumed.filter((r) => r.reused).length} of 20 resumed`);
  const text = (await fresh(s.base, '/metrics', { ca })).body;
  t.true(metric(text, 'http_requests_total{method="GET",route="/:hostname/:namespace/:type/:file",status="200"}') >= 21);
});
