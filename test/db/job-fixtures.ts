import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '../../server/src/db/database.js';
import { JobRepository, type JobItemKey, type NewJob } from '../../server/src/db/jobs.js';

/** A database file in a fresh temp dir, so several connections can share it like processes do. */
export function tempDatabaseFile(): { file: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-jobs-'));
  return { file: path.join(dir, 'tfmirror.db'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function memoryRepository(): { db: Database; repo: JobRepository } {
  const db = openDatabase(':memory:');
  return { db, repo: new JobRepository(db) };
}

/** n distinct items of hashicorp/null, one platform each. */
export function items(n: number, version = '3.2.0'): JobItemKey[] {
  return Array.from({ length: n }, (_, i) => ({
    source: 'registry.terraform.io/hashicorp/null',
    version,
    platform: `linux_arch${i}`,
  }));
}

export function loadJob(itemKeys: JobItemKey[], maxAttempts = 3): NewJob {
  return { kind: 'load', requestedBy: 'admin', spec: { providers: ['hashicorp/null'] }, items: itemKeys, maxAttempts };
}

/** A clock that only moves when told to. */
export function manualClock(start = 1_700_000_000_000): { now(): number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}
