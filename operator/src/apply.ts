/**
 * `tfmirror apply FILE|DIR…`: the operator's work without a cluster. Reads
 * ProviderSet/ProviderMirror/ModuleSet manifests, PUTs each to the server, waits for
 * the jobs and prints a status table. Without Kubernetes there is no
 * metadata.generation, so apply makes one: the server's stored generation
 * plus one. The server plans a generation once and ignores older ones, so a
 * generation must only move forward (a hash of the spec would make an edit
 * back to an earlier spec look old or already planned). Re-applying unchanged
 * files re-plans but fetches nothing: only missing packages are queued.
 */

import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Config } from '../../server/src/config/types.js';
import { API_VERSION } from './api/v1alpha1.js';
import { operatorToken } from './main.js';
import { APPLY_UID_PREFIX } from './ownership.js';
import { HttpServerClient, type MirrorKind, NotFound, type ServerClient, type ServerStatus } from './server-client.js';

export interface Output {
  write(chunk: string): unknown;
}

export interface ApplyOptions {
  client?: ServerClient;
  pollIntervalMs?: number;
  timeoutMs?: number;
  now?: () => number;
}

export interface Manifest {
  kind: MirrorKind;
  namespace: string;
  name: string;
  spec: unknown;
  file: string;
}

export async function applyCommand(paths: string[], config: Config, out: Output, options: ApplyOptions = {}): Promise<number> {
  let manifests: Manifest[];
  let client: ServerClient;
  try {
    manifests = await readManifests(paths);
    client = options.client ?? new HttpServerClient({ baseUrl: config.operator.serverUrl, token: await operatorToken(config.operator) });
  } catch (err) {
    out.write(`error: ${(err as Error).message}\n`);
    return 2;
  }
  if (manifests.length === 0) {
    out.write('error: no ProviderSet, ProviderMirror or ModuleSet found\n');
    return 2;
  }
  const now = options.now ?? Date.now;
  const deadline = now() + (options.timeoutMs ?? 30 * 60_000);
  const pollIntervalMs = options.pollIntervalMs ?? 2_000;

  const results = new Map<Manifest, ServerStatus | string>();
  for (const m of manifests) {
    try {
      const status = await client.put(m.namespace, m.name, {
        uid: applyUid(m),
        generation: await nextGeneration(client, m),
        kind: m.kind,
        spec: m.spec,
      });
      results.set(m, status);
      out.write(`${label(m)}: applied\n`);
    } catch (err) {
      results.set(m, (err as Error).message);
      out.write(`${label(m)}: ${(err as Error).message}\n`);
    }
  }

  let lastProgress = '';
  for (;;) {
    const active = manifests.filter((m) => isActive(results.get(m)));
    if (active.length === 0 || now() >= deadline) break;
    await new Promise((r) => setTimeout(r, pollIntervalMs));
    for (const m of active) {
      try {
        results.set(m, await client.get(m.namespace, m.name, m.kind));
      } catch (err) {
        out.write(`${label(m)}: ${(err as Error).message} (retrying)\n`);
      }
    }
    const progress = manifests
      .map((m) => results.get(m))
      .filter((s): s is ServerStatus => typeof s === 'object')
      .reduce((acc, s) => ({ ready: acc.ready + s.ready, desired: acc.desired + s.desired }), { ready: 0, desired: 0 });
    // The same words as each kind's Ready condition: module versions for ModuleSets, packages for the others.
    const modules = manifests.some((m) => m.kind === 'ModuleSet');
    const providers = manifests.some((m) => m.kind !== 'ModuleSet');
    const unit = modules && providers ? 'packages and module versions' : modules ? 'module versions' : 'packages';
    const line = `progress: ${progress.ready}/${progress.desired} ${unit} mirrored\n`;
    if (line !== lastProgress) out.write(line);
    lastProgress = line;
  }

  out.write(table(manifests, results));
  return manifests.every((m) => isReady(results.get(m))) ? 0 : 1;
}

const KINDS: readonly MirrorKind[] = ['ProviderSet', 'ProviderMirror', 'ModuleSet'];

function isMirrorKind(kind: unknown): kind is MirrorKind {
  return KINDS.includes(kind as MirrorKind);
}

function label(m: Manifest): string {
  return `${m.kind}/${m.namespace}/${m.name}`;
}

function isActive(s: ServerStatus | string | undefined): boolean {
  return typeof s === 'object' && (s.jobStatus === 'pending' || s.jobStatus === 'running' || s.pending > 0);
}

export function isReady(s: ServerStatus | string | undefined): boolean {
  return typeof s === 'object' && s.desired > 0 && s.ready === s.desired && s.failed === 0 && s.problems.length === 0;
}

function table(manifests: Manifest[], results: Map<Manifest, ServerStatus | string>): string {
  const rows = [['RESOURCE', 'READY', 'DESIRED', 'MIRRORED', 'FAILED', 'MESSAGE']];
  for (const m of manifests) {
    const s = results.get(m);
    if (typeof s !== 'object') {
      rows.push([label(m), 'False', '-', '-', '-', s ?? 'not applied']);
      continue;
    }
    const message = [...s.problems, ...s.failures.slice(0, 3).map((f) => `${f.source} ${f.version} ${f.platform}: ${f.message}`)].join('; ');
    const ready = isReady(s) ? 'True' : isActive(s) ? 'Timeout' : 'False';
    rows.push([label(m), ready, String(s.desired), String(s.ready), String(s.failed), message]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}

function applyUid(m: Manifest): string {
  return `${APPLY_UID_PREFIX}${m.namespace}/${m.name}`;
}

/** One above what the server holds for this manifest; 1 for a record it lacks or one a cluster created (another uid). */
export async function nextGeneration(client: ServerClient, m: Manifest): Promise<number> {
  try {
    const current = await client.get(m.namespace, m.name, m.kind);
    return current.uid === applyUid(m) ? current.observedGeneration + 1 : 1;
  } catch (err) {
    if (err instanceof NotFound) return 1;
    throw err;
  }
}

export async function readManifests(paths: string[]): Promise<Manifest[]> {
  const files: string[] = [];
  for (const p of paths) {
    if ((await stat(p)).isDirectory()) {
      const entries = await readdir(p, { recursive: true });
      files.push(...entries.filter((e) => /\.ya?ml$/i.test(e)).sort().map((e) => path.join(p, e)));
    } else files.push(p);
  }
  const manifests: Manifest[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
      const obj = doc.toJS() as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown }; spec?: unknown } | null;
      if (!obj || obj.apiVersion !== API_VERSION || !isMirrorKind(obj.kind)) continue;
      if (typeof obj.metadata?.name !== 'string') throw new Error(`${file}: a ${obj.kind} without metadata.name`);
      const namespace = typeof obj.metadata.namespace === 'string' ? obj.metadata.namespace : 'default';
      manifests.push({ kind: obj.kind, namespace, name: obj.metadata.name, spec: obj.spec ?? {}, file });
    }
  }
  return manifests;
}
