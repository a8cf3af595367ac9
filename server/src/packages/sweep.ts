/**
 * The orphan sweep: objects under `providers/` and `modules/` that no row names, left by an
 * ingest that died between storing its object and recording its row (kill -9,
 * OOM, node drain), and staging files of processes that no longer run.
 *
 * Why a grace period is enough to spare in-flight ingests: an ingest stores its
 * object first and records the row right after (write path: store → record),
 * and storing always rewrites the object, so an object that belongs to an
 * ingest in flight was last modified moments ago. Only objects older than
 * `graceMs` are candidates, and each one is checked against the rows again
 * right before it is deleted. The grace must exceed the longest time between
 * an upload finishing and its row committing (the zip inspection of the
 * largest allowed package); the default is generous because an orphan costs
 * only space. An ingest also checks its object is present after recording
 * (see ingest.ts), which repairs a sweep delete that lands before that check.
 * Left open: an orphan past the grace whose identical bytes are re-ingested,
 * stored, recorded and checked entirely between the sweep's last look at the
 * rows and its delete (well under a millisecond on SQLite). The sweep asks
 * the rows once more after each delete and counts such a race in `raced`,
 * so it shows in the log instead of passing silently.
 */
import path from 'node:path/posix';
import type { ObjectReferenceRepository } from '../db/object-references.js';
import type { StagingArea } from '../loads/staging.js';
import type { ObjectStore } from '../storage/store.js';

export const DEFAULT_SWEEP_GRACE_MS = 6 * 60 * 60 * 1000;
export const DEFAULT_SWEEP_INTERVAL_MS = 60 * 60 * 1000;
/** Provider packages and their release files; module archives (stored before their row, like packages). */
const SWEPT_PREFIXES = ['providers/', 'modules/'] as const;
/** Kept per version next to its packages but named by no row (fetch-package.ts). */
const VERSION_FILES = new Set(['signing-keys.json']);

export interface SweepDeps {
  store: ObjectStore;
  references: ObjectReferenceRepository;
  /** Staging files of dead processes are swept too. */
  staging?: StagingArea;
  /** Objects modified more recently than this are left alone. */
  graceMs?: number;
  now?: () => number;
}

export interface SweepResult {
  /** Objects listed under providers/ and modules/. */
  listed: number;
  /** Objects no row names, deleted. */
  deleted: number;
  /** Objects no row names but younger than the grace period (an ingest may be about to record them). */
  young: number;
  /** Deletions that failed (left for the next sweep). */
  failed: number;
  /** Deleted objects a row named right after the delete: a concurrent re-ingest to check by hand. */
  raced: number;
  /** Staging files removed. */
  staging: number;
  /** Leftovers of puts killed midway removed (filesystem temp files). */
  incomplete: number;
}

export async function sweepOrphans(deps: SweepDeps, signal?: AbortSignal): Promise<SweepResult> {
  const graceMs = deps.graceMs ?? DEFAULT_SWEEP_GRACE_MS;
  const now = deps.now ?? Date.now;
  const result: SweepResult = { listed: 0, deleted: 0, young: 0, failed: 0, raced: 0, staging: 0, incomplete: 0 };
  if (deps.staging) result.staging = deps.staging.init(undefined, now());
  if (deps.store.sweepIncomplete) result.incomplete = await deps.store.sweepIncomplete();
  const cutoff = now() - graceMs;
  for (const prefix of SWEPT_PREFIXES) {
    for await (const object of deps.store.list(prefix)) {
      signal?.throwIfAborted();
      result.listed++;
      if (isHeld(deps.references, object.key)) continue;
      if (object.lastModified.getTime() > cutoff) {
        result.young++;
        continue;
      }
      // The listing may be old news by now: ask the rows once more, as late as possible.
      if (isHeld(deps.references, object.key)) continue;
      try {
        await deps.store.delete(object.key);
        result.deleted++;
        if (isHeld(deps.references, object.key)) result.raced++;
      } catch {
        result.failed++;
      }
    }
  }
  return result;
}

function isHeld(references: ObjectReferenceRepository, key: string): boolean {
  if (references.isReferenced(key)) return true;
  return VERSION_FILES.has(path.basename(key)) && references.hasPackageUnder(`${path.dirname(key)}/`);
}

export interface SweepSchedule {
  stop(): Promise<void>;
}

/** Sweeps now and then every intervalMs; a sweep never overlaps the next, and stop() waits for the one running. */
export function scheduleSweeps(
  deps: SweepDeps,
  report: (result: SweepResult | undefined, err?: unknown) => void,
  intervalMs = DEFAULT_SWEEP_INTERVAL_MS,
): SweepSchedule {
  const controller = new AbortController();
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = sweepOrphans(deps, controller.signal).then(
      (r) => report(r),
      (err: unknown) => {
        if (!controller.signal.aborted) report(undefined, err);
      },
    );
  };
  run();
  const timer = setInterval(() => void running.then(() => controller.signal.aborted || run()), intervalMs).unref();
  return {
    async stop() {
      clearInterval(timer);
      controller.abort();
      await running;
    },
  };
}
