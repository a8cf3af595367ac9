/**
 * A worker thread standing in for a second process: its own connection to the
 * same database file, claiming and completing until the queue is empty.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../server/src/db/database.js';
import { JobRepository } from '../../server/src/db/jobs.js';

const { file, owner, batch, gate, parties } = workerData as {
  file: string;
  owner: string;
  batch: number;
  /** Int32Array over a SharedArrayBuffer counting threads ready to start. */
  gate: Int32Array;
  parties: number;
};
const db = openDatabase(file);
const repo = new JobRepository(db);
// Start together, so the claims really overlap instead of running one thread after another.
Atomics.add(gate, 0, 1);
Atomics.notify(gate, 0);
for (let ready = Atomics.load(gate, 0); ready < parties; ready = Atomics.load(gate, 0)) Atomics.wait(gate, 0, ready, 50);
const claimed: number[] = [];
const pause = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  const got = repo.claim(owner, 60_000, Date.now(), batch);
  if (got.length === 0) break;
  for (const item of got) {
    claimed.push(item.id);
    repo.complete(item.id, owner, 'succeeded', Date.now());
  }
  // Real work between claims; without it one thread re-takes the lock before
  // SQLite's busy handler wakes the others (they would all still be correct, just idle).
  Atomics.wait(pause, 0, 0, 1);
}
db.close();
parentPort!.postMessage(claimed);
