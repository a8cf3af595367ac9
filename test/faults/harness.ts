/**
 * Shared pieces of the fault-injection suite: a seeded random source (the seed
 * is printed so a failing run can be replayed with TFM_FAULT_SEED), twenty
 * small packages behind the fake registry, real `tfmirror` processes killed
 * with SIGKILL, and the invariants every run must end with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { S3StorageConfig } from '../../server/src/config/types.js';
import { openDatabase } from '../../server/src/db/database.js';
import { ObjectReferenceRepository } from '../../server/src/db/object-references.js';
import { StagingArea } from '../../server/src/loads/staging.js';
import { sweepOrphans, type SweepResult } from '../../server/src/packages/sweep.js';
import { FilesystemStore } from '../../server/src/storage/filesystem.js';
import { S3Store } from '../../server/src/storage/s3.js';
import type { ObjectStore } from '../../server/src/storage/store.js';
import type { FakeRegistryProvider } from '../fixtures/fake-registry.js';
import type { LoadSetup } from '../fixtures/load-setup.js';
import type { S3rverFixture } from '../fixtures/s3rver.js';
import { cleanEnv, cliPath } from '../fixtures/tfmirror.js';

/** mulberry32: small, fast and good enough to pick kill points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function faultSeed(): number {
  const fixed = Number(process.env.TFM_FAULT_SEED);
  return Number.isSafeInteger(fixed) && fixed > 0 ? fixed : Math.floor(Math.random() * 2 ** 31) + 1;
}

/** Ten providers on two platforms: twenty package ingests. */
export const TWENTY: FakeRegistryProvider[] = Array.from({ length: 10 }, (_, i) => ({
  namespace: 'acme',
  type: `p${i}`,
  versions: { '1.0.0': ['linux_amd64', 'darwin_arm64'] },
}));

export const TWENTY_DEFINITIONS = `providers:\n${TWENTY.map((p) => `  - source: acme/${p.type}\n    versions: ["1.0.0"]\n    platforms: [linux_amd64, darwin_arm64]\n`).join('')}`;

export function s3Env(s3: S3rverFixture): Record<string, string> {
  return {
    TFM_STORAGE_TYPE: 's3',
    TFM_STORAGE_BUCKET: s3.bucket,
    TFM_STORAGE_ENDPOINT: s3.endpoint,
    TFM_STORAGE_FORCE_PATH_STYLE: 'true',
    TFM_STORAGE_ACCESS_KEY_ID: s3.accessKeyId,
    TFM_STORAGE_SECRET_ACCESS_KEY: s3.secretAccessKey,
    TFM_STORAGE_PRESIGN_DOWNLOADS: 'false',
  };
}

export function s3Config(s3: S3rverFixture): S3StorageConfig {
  return {
    type: 's3', bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, prefix: '', forcePathStyle: true,
    accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, presignDownloads: false, presignTtl: 900,
  };
}

export function dbFile(s: LoadSetup): string {
  return path.join(s.dir, 'data', 'tfmirror.db');
}

/** Reads the database the way an operator would beside the running processes: its own read-only connection. */
export function query<T>(s: LoadSetup, sql: string): T[] {
  if (!fs.existsSync(dbFile(s))) return [];
  const db = new Database(dbFile(s), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 2000');
    return db.prepare(sql).all() as T[];
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_ERROR') return []; // tables not created yet
    throw err;
  } finally {
    db.close();
  }
}

/** Items leased by the process with this pid (owners are hostname:pid:random), or by anyone. */
export function runningItems(s: LoadSetup, pid?: number): number {
  const owner = pid === undefined ? '' : ` AND lease_owner LIKE '%:${pid}:%'`;
  return query<{ n: number }>(s, `SELECT COUNT(*) AS n FROM job_items WHERE status = 'running'${owner}`)[0]?.n ?? 0;
}

export function packageRows(s: LoadSetup): number {
  return query<{ n: number }>(s, `SELECT COUNT(*) AS n FROM provider_packages`)[0]?.n ?? 0;
}

export interface Spawned {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

export function spawnCli(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [cliPath, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => out };
}

export async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

export interface KillRecord {
  process: 'load' | 'serve';
  afterMs: number;
  /** Items running (leased) when the SIGKILL landed: the ingests it cut. */
  inFlight: number;
  rowsBefore: number;
}

/**
 * Kill points follow the work, not the clock (a run takes 1 s on a quiet
 * machine and 10 s on a loaded one): wait until this process has recorded
 * 0–2 more packages (random) and works on an item, then a random 0–maxExtraMs,
 * then SIGKILL — somewhere in staging, storing or recording of the items in flight.
 */
export async function killMidIngest(kind: KillRecord['process'], p: Spawned, s: LoadSetup, random: () => number, maxExtraMs: number): Promise<KillRecord> {
  let done = false;
  void p.exited.then(() => (done = true));
  const pid = p.child.pid!;
  const target = packageRows(s) + Math.floor(random() * 3);
  await until(`${kind} to start an item`, () => done || (runningItems(s, pid) > 0 && packageRows(s) >= target), 30_000);
  const afterMs = Math.floor(random() * maxExtraMs);
  await delay(afterMs);
  const inFlight = runningItems(s, pid);
  const rowsBefore = packageRows(s);
  p.child.kill('SIGKILL');
  await p.exited;
  return { process: kind, afterMs, inFlight, rowsBefore };
}

export interface Invariants {
  /** Objects read back in full and hashed. */
  objectsChecked: number;
  sweep: SweepResult;
  /** Objects left under providers/ after the sweep, each named by a row. */
  objectsAfterSweep: number;
}

export function storeFor(s: LoadSetup, s3?: S3rverFixture): ObjectStore {
  return s3 ? new S3Store(s3Config(s3)) : new FilesystemStore({ path: path.join(s.dir, 'data', 'storage') });
}

async function sha256Of(store: ObjectStore, key: string): Promise<{ sha256: string; size: number }> {
  const { body } = await store.get(key);
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * With every process stopped: each row's object exists and hashes to the row
 * and to the upstream's published sha256; each version's evidence is the
 * upstream's exact bytes; then one sweep, after which every object under
 * providers/ is named by a row, and no staging file is left.
 */
export async function checkInvariants(s: LoadSetup, store: ObjectStore, expectRows: number): Promise<Invariants & { problems: string[] }> {
  const problems: string[] = [];
  const rows = query<{ type: string; version: string; os: string; arch: string; sha256: string; size: number; objectKey: string; shasumsKey: string; signatureKey: string }>(
    s,
    `SELECT p.type, v.version, k.os, k.arch, k.sha256, k.size, k.object_key AS objectKey, v.shasums_key AS shasumsKey, v.signature_key AS signatureKey
       FROM provider_packages k JOIN provider_versions v ON v.id = k.version_id JOIN providers p ON p.id = v.provider_id`,
  );
  if (rows.length !== expectRows) problems.push(`${rows.length} package rows, expected ${expectRows}`);
  let objectsChecked = 0;
  for (const r of rows) {
    const upstream = s.registry.release('acme', r.type, r.version);
    const expected = upstream.packages.get(`${r.os}_${r.arch}`)!.sha256;
    const got = await sha256Of(store, r.objectKey).catch((err: Error) => ({ sha256: `unreadable: ${err.message}`, size: -1 }));
    objectsChecked++;
    if (got.sha256 !== r.sha256 || r.sha256 !== expected || got.size !== r.size) problems.push(`${r.objectKey}: stored ${got.sha256}/${got.size}, row ${r.sha256}/${r.size}, upstream ${expected}`);
    for (const [key, name] of [[r.shasumsKey, upstream.sumsFilename], [r.signatureKey, `${upstream.sumsFilename}.sig`]] as const) {
      const want = createHash('sha256').update(upstream.files.get(name)!).digest('hex');
      const have = await sha256Of(store, key).catch(() => ({ sha256: 'unreadable', size: -1 }));
      objectsChecked++;
      if (have.sha256 !== want) problems.push(`${key}: evidence is not the upstream's bytes`);
    }
  }
  const db = openDatabase(dbFile(s));
  try {
    const references = new ObjectReferenceRepository(db);
    const staging = new StagingArea(path.join(s.dir, 'data', 'staging'));
    const sweep = await sweepOrphans({ store, references, staging, graceMs: 0, now: () => Date.now() + 1000 });
    let objectsAfterSweep = 0;
    for await (const o of store.list('providers/')) {
      objectsAfterSweep++;
      const named = references.isReferenced(o.key) || (o.key.endsWith('/signing-keys.json') && references.hasPackageUnder(o.key.replace(/[^/]+$/, '')));
      if (!named) problems.push(`${o.key}: no row names it after the sweep`);
    }
    const stagingLeft = fs.existsSync(staging.dir) ? fs.readdirSync(staging.dir) : [];
    if (stagingLeft.length > 0) problems.push(`staging files left: ${stagingLeft.join(', ')}`);
    const tempDir = path.join(s.dir, 'data', 'storage', '.tmp');
    const tempLeft = fs.existsSync(tempDir) ? fs.readdirSync(tempDir) : [];
    if (tempLeft.length > 0) problems.push(`temp files of killed puts left: ${tempLeft.join(', ')}`);
    return { objectsChecked, sweep, objectsAfterSweep, problems };
  } finally {
    db.close();
  }
}
