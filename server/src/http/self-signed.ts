import { randomBytes, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type * as X509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type X509Lib = typeof X509;

let x509Lib: Promise<X509Lib> | undefined;

/**
 * @peculiar/x509 (with its ASN.1 schemas and tsyringe) takes about 175 ms to
 * load, and is needed only to make a certificate: a start that finds a usable
 * one under data/tls never loads it.
 */
function loadX509(): Promise<X509Lib> {
  x509Lib ??= (async () => {
    // It resolves its ASN.1 schemas through tsyringe, which needs this polyfill loaded first.
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    // Node's WebCrypto is what @peculiar/x509 expects; its types name the DOM's Crypto.
    x509.cryptoProvider.set(webcrypto as never);
    return x509;
  })();
  return x509Lib;
}

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 24 * 60 * 60 * 1000;

export interface TlsMaterial {
  /** The CA users trust (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS). */
  caFile: string;
  /** System roots plus the CA, for SSL_CERT_FILE (which replaces the roots Go reads on Linux). */
  bundleFile: string;
  certFile: string;
  keyFile: string;
  created: boolean;
}

/**
 * A local CA and a server certificate it signed, created once under `dir` and
 * reused afterwards, so users trust the CA a single time. The leaf is renewed
 * when it nears expiry or lacks a hostname now asked for; the CA is kept.
 */
export async function ensureSelfSignedTls(dir: string, hostnames: string[], now = new Date()): Promise<TlsMaterial> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = {
    caFile: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    bundleFile: path.join(dir, 'ca-bundle.pem'),
    certFile: path.join(dir, 'server.crt'),
    keyFile: path.join(dir, 'server.key'),
  };
  const names = [...new Set(['localhost', '127.0.0.1', '::1', ...hostnames.filter(Boolean)])];
  const haveCa = fs.existsSync(files.caFile) && fs.existsSync(files.caKey);
  if (haveCa && leafIsUsable(files.certFile, names, now) && fs.existsSync(files.bundleFile)) {
    return { caFile: files.caFile, bundleFile: files.bundleFile, certFile: files.certFile, keyFile: files.keyFile, created: false };
  }
  const x509 = await loadX509();
  let created = false;
  let ca = haveCa ? await loadCa(x509, files.caFile, files.caKey) : undefined;
  if (!ca) {
    ca = await createCa(x509, now);
    writePrivate(files.caKey, await exportKey(x509, ca.keys.privateKey));
    fs.writeFileSync(files.caFile, ca.cert.toString('pem') + '\n');
    created = true;
  }
  if (created || !leafIsUsable(files.certFile, names, now)) {
    const leaf = await createLeaf(x509, ca, names, now);
    writePrivate(files.keyFile, await exportKey(x509, leaf.keys.privateKey));
    fs.writeFileSync(files.certFile, leaf.cert.toString('pem') + '\n' + ca.cert.toString('pem') + '\n');
    created = true;
  }
  if (created || !fs.existsSync(files.bundleFile)) {
    fs.writeFileSync(files.bundleFile, systemRoots() + fs.readFileSync(files.caFile, 'utf8'));
  }
  return { caFile: files.caFile, bundleFile: files.bundleFile, certFile: files.certFile, keyFile: files.keyFile, created };
}

interface Issuer {
  cert: X509.X509Certificate;
  keys: CryptoKeyPair;
}

async function createCa(x509: X509Lib, now: Date): Promise<Issuer> {
  const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=terraform-mirror local CA ${randomBytes(4).toString('hex')}`,
    notBefore: new Date(now.getTime() - day),
    notAfter: new Date(now.getTime() + 3650 * day),
    keys,
    signingAlgorithm: ecdsa,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function createLeaf(x509: X509Lib, ca: Issuer, names: string[], now: Date): Promise<Issuer> {
  const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as CryptoKeyPair;
  const isIp = (n: string) => /^[\d.]+$/.test(n) || n.includes(':');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names[0]}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now.getTime() - day),
    // Below the 398 days browsers accept, in case someone opens the UI.
    notAfter: new Date(now.getTime() + 397 * day),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ecdsa,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: isIp(n) ? ('ip' as const) : ('dns' as const), value: n }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { cert, keys };
}

async function loadCa(x509: X509Lib, certFile: string, keyFile: string): Promise<Issuer> {
  const cert = new x509.X509Certificate(fs.readFileSync(certFile, 'utf8'));
  const der = x509.PemConverter.decodeFirst(fs.readFileSync(keyFile, 'utf8'));
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ecdsa, true, ['sign']);
  const publicKey = await cert.publicKey.export(ecdsa, ['verify']);
  return { cert, keys: { privateKey, publicKey } as CryptoKeyPair };
}

/** Read with Node's own X.509 parser, so checking a cached certificate loads no library. */
function leafIsUsable(certFile: string, names: string[], now: Date): boolean {
  let cert: NodeX509;
  try {
    // The file holds the leaf then the CA: the constructor reads the first.
    cert = new NodeX509(fs.readFileSync(certFile));
  } catch {
    return false;
  }
  if (new Date(cert.validTo).getTime() - now.getTime() < 30 * day) return false;
  // Exact SAN entries, as they were written: IPs compared as addresses (::1 prints expanded).
  const dns = new Set((cert.subjectAltName ?? '').split(', ').filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4)));
  return names.every((n) => (net.isIP(n) ? cert.checkIP(n) !== undefined : dns.has(n)));
}

async function exportKey(x509: X509Lib, key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

function writePrivate(file: string, pem: string): void {
  fs.writeFileSync(file, pem, { mode: 0o600 });
}

/** A positive serial (high bit clear): Go rejects negative ones. */
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

const rootBundles = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/ssl/cert.pem',
];

function systemRoots(): string {
  for (const f of rootBundles) {
    try {
      const pem = fs.readFileSync(f, 'utf8');
      return pem.endsWith('\n') ? pem : pem + '\n';
    } catch {
      // try the next location
    }
  }
  return '';
}
