import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ensureSelfSignedTls } from '../../server/src/http/self-signed.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'tls');
}

const leafOf = (file: string) => new X509Certificate(fs.readFileSync(file));

test('a second start reuses the CA and the server certificate it finds', async (t) => {
  const dir = tempDir(t);
  const first = await ensureSelfSignedTls(dir, []);
  t.true(first.created);
  const before = { ca: fs.readFileSync(first.caFile, 'utf8'), cert: fs.readFileSync(first.certFile, 'utf8'), key: fs.readFileSync(first.keyFile, 'utf8') };
  const second = await ensureSelfSignedTls(dir, []);
  t.false(second.created);
  t.is(fs.readFileSync(second.caFile, 'utf8'), before.ca);
  t.is(fs.readFileSync(second.certFile, 'utf8'), before.cert);
  t.is(fs.readFileSync(second.keyFile, 'utf8'), before.key);
});

test('the server certificate names localhost, 127.0.0.1 and ::1 and is signed by the CA', async (t) => {
  const tls = await ensureSelfSignedTls(tempDir(t), []);
  const leaf = leafOf(tls.certFile);
  t.truthy(leaf.checkHost('localhost'));
  t.truthy(leaf.checkIP('127.0.0.1'));
  t.truthy(leaf.checkIP('::1'));
  t.true(leaf.verify(new X509Certificate(fs.readFileSync(tls.caFile)).publicKey));
});

test('a hostname the certificate lacks renews the server certificate and keeps the CA', async (t) => {
  const dir = tempDir(t);
  const first = await ensureSelfSignedTls(dir, []);
  const ca = fs.readFileSync(first.caFile, 'utf8');
  const cert = fs.readFileSync(first.certFile, 'utf8');
  const renewed = await ensureSelfSignedTls(dir, ['mirror.example.com']);
  t.true(renewed.created);
  t.is(fs.readFileSync(renewed.caFile, 'utf8'), ca);
  t.not(fs.readFileSync(renewed.certFile, 'utf8'), cert);
  t.truthy(leafOf(renewed.certFile).checkHost('mirror.example.com'));
  t.false((await ensureSelfSignedTls(dir, ['mirror.example.com'])).created);
});

test('a server certificate within 30 days of expiry is renewed', async (t) => {
  const dir = tempDir(t);
  await ensureSelfSignedTls(dir, []);
  const later = new Date(Date.now() + 380 * 24 * 3600 * 1000);
  const renewed = await ensureSelfSignedTls(dir, [], later);
  t.true(renewed.created);
  t.true(new Date(leafOf(renewed.certFile).validTo).getTime() > later.getTime() + 300 * 24 * 3600 * 1000);
});

test('a missing bundle is written again without renewing the certificate', async (t) => {
  const dir = tempDir(t);
  const first = await ensureSelfSignedTls(dir, []);
  const cert = fs.readFileSync(first.certFile, 'utf8');
  fs.rmSync(first.bundleFile);
  const again = await ensureSelfSignedTls(dir, []);
  t.true(fs.readFileSync(again.bundleFile, 'utf8').includes(fs.readFileSync(first.caFile, 'utf8')));
  t.is(fs.readFileSync(again.certFile, 'utf8'), cert);
});
