import fs from 'node:fs';
import path from 'node:path';
import type { ProviderIdentity } from '../db/providers.js';
import { InvalidInput, LimitExceeded } from '../errors.js';
import { ingestPackage, type IngestDeps } from '../packages/ingest.js';
import { isValidHostname, isValidNamespace, isValidType } from '../providers/address.js';
import { parseHash } from '../providers/hashes.js';
import { isValidPackageFilename } from '../providers/keys.js';
import { parsePlatform } from '../providers/platform.js';
import { isValidVersion } from '../providers/version.js';

/**
 * Reads the layout `terraform providers mirror DIR` writes:
 *   DIR/{hostname}/{namespace}/{type}/index.json       {"versions":{"1.2.3":{}}}
 *   DIR/{hostname}/{namespace}/{type}/{version}.json   {"archives":{"linux_amd64":{"url":"x.zip","hashes":["h1:…"]}}}
 *   DIR/{hostname}/{namespace}/{type}/x.zip
 * Every name and document is untrusted: sizes are bounded, archive URLs must be
 * plain file names next to the document, and a bad item is refused with its
 * reason while the rest are imported.
 */

/** index.json and {version}.json are small; anything bigger is not a mirror document. */
const MAX_DOCUMENT_BYTES = 1 << 20;

export interface ImportItem {
  provider: ProviderIdentity;
  version: string;
  platform: string;
  filename: string;
  file: string;
  size: number;
  expected: { sha256?: string; h1?: string[] };
}

export interface Refusal {
  /** The file or directory the problem is in, relative to DIR. */
  where: string;
  reason: string;
}

export interface ImportPlan {
  items: ImportItem[];
  refused: Refusal[];
}

export type ItemOutcome = 'imported' | 'unchanged' | 'refused';

export interface ImportEvents {
  itemStarted?(item: ImportItem, index: number, total: number): void;
  bytes?(n: number): void;
  itemFinished?(item: ImportItem, outcome: ItemOutcome, detail?: string): void;
}

export interface ImportSummary {
  imported: number;
  unchanged: number;
  refused: Refusal[];
  bytes: number;
  seconds: number;
}

/** Finds every archive the directory offers, validating structure but not bytes. */
export function planImport(dir: string): ImportPlan {
  const plan: ImportPlan = { items: [], refused: [] };
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InvalidInput(`${dir} is not a directory`);
  }
  const rel = (p: string) => path.relative(dir, p) || '.';
  for (const hostname of subdirectories(dir)) {
    for (const namespace of subdirectories(path.join(dir, hostname))) {
      for (const type of subdirectories(path.join(dir, hostname, namespace))) {
        const typeDir = path.join(dir, hostname, namespace, type);
        try {
          const provider = providerFromNames(hostname, namespace, type);
          planProvider(typeDir, provider, plan, rel);
        } catch (err) {
          plan.refused.push({ where: rel(typeDir), reason: (err as Error).message });
        }
      }
    }
  }
  return plan;
}

function planProvider(typeDir: string, provider: ProviderIdentity, plan: ImportPlan, rel: (p: string) => string): void {
  const index = readDocument(path.join(typeDir, 'index.json'));
  const versions = objectField(index, 'versions', 'index.json');
  for (const version of Object.keys(versions)) {
    const docFile = path.join(typeDir, `${version}.json`);
    try {
      if (!isValidVersion(version)) throw new InvalidInput(`"${version}" is not a valid version`);
      const archives = objectField(readDocument(docFile), 'archives', `${version}.json`);
      for (const [platform, archive] of Object.entries(archives)) {
        try {
          plan.items.push(planArchive(typeDir, provider, version, platform, archive));
        } catch (err) {
          plan.refused.push({ where: `${rel(docFile)} archives.${platform}`, reason: (err as Error).message });
        }
      }
    } catch (err) {
      plan.refused.push({ where: rel(docFile), reason: (err as Error).message });
    }
  }
}

function planArchive(typeDir: string, provider: ProviderIdentity, version: string, platform: string, archive: unknown): ImportItem {
  parsePlatform(platform);
  const { url, hashes } = (archive ?? {}) as { url?: unknown; hashes?: unknown };
  if (typeof url !== 'string' || !isValidPackageFilename(url)) {
    throw new InvalidInput(`url must be a .zip file name next to the document, got ${JSON.stringify(url)}`);
  }
  if (hashes !== undefined && (!Array.isArray(hashes) || hashes.some((h) => typeof h !== 'string'))) {
    throw new InvalidInput('hashes must be a list of strings');
  }
  const expected: ImportItem['expected'] = {};
  for (const h of (hashes ?? []) as string[]) {
    // Hash schemes other than h1/zh (a future format) are not ours to check.
    if (!h.startsWith('h1:') && !h.startsWith('zh:')) continue;
    const parsed = parseHash(h);
    if (parsed.scheme === 'h1') (expected.h1 ??= []).push(h);
    else if (parsed.scheme === 'zh') expected.sha256 = parsed.value;
  }
  const file = path.join(typeDir, url);
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) throw new InvalidInput(`${url} is listed but missing`);
  return { provider, version, platform, filename: url, file, size: stat.size, expected };
}

/** Imports a planned directory, one package at a time; refusals are collected, never thrown. */
export async function runImport(plan: ImportPlan, deps: IngestDeps, events: ImportEvents = {}, signal?: AbortSignal): Promise<ImportSummary> {
  const started = performance.now();
  const summary: ImportSummary = { imported: 0, unchanged: 0, refused: [...plan.refused], bytes: 0, seconds: 0 };
  const onBytes = (n: number) => {
    summary.bytes += n;
    events.bytes?.(n);
  };
  for (const [i, item] of plan.items.entries()) {
    signal?.throwIfAborted();
    events.itemStarted?.(item, i, plan.items.length);
    const [os = '', arch = ''] = item.platform.split('_');
    try {
      const result = await ingestPackage(
        { ...deps, onBytes },
        { provider: item.provider, version: item.version, os, arch, filename: item.filename, file: item.file, origin: 'imported', expected: item.expected },
        signal,
      );
      const outcome = result.outcome === 'created' ? 'imported' : 'unchanged';
      summary[outcome]++;
      events.itemFinished?.(item, outcome);
    } catch (err) {
      if (signal?.aborted) throw err;
      const reason = (err as Error).message;
      summary.refused.push({ where: item.filename, reason });
      events.itemFinished?.(item, 'refused', reason);
    }
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

function providerFromNames(hostname: string, namespace: string, type: string): ProviderIdentity {
  const id = { hostname: hostname.toLowerCase(), namespace: namespace.toLowerCase(), type: type.toLowerCase() };
  if (!isValidHostname(id.hostname) || !isValidNamespace(id.namespace) || !isValidType(id.type)) {
    throw new InvalidInput(`${hostname}/${namespace}/${type} is not a provider address`);
  }
  return id;
}

function subdirectories(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

function readDocument(file: string): unknown {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) throw new InvalidInput(`${path.basename(file)} is missing`);
  if (stat.size > MAX_DOCUMENT_BYTES) throw new LimitExceeded(`${path.basename(file)} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InvalidInput(`${path.basename(file)} is not valid JSON: ${(err as Error).message}`);
  }
}

function objectField(doc: unknown, field: string, where: string): Record<string, unknown> {
  const value = (doc as Record<string, unknown> | null)?.[field];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInput(`${where} has no "${field}" object`);
  }
  return value as Record<string, unknown>;
}
