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
 * plain file names next to the document, symbolic links are refused, an archive
 * with no hash to check is refused unless trusted explicitly, and a bad item is
 * refused with its reason while the rest are imported.
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
  /** Imported although nothing vouches for its bytes (PlanOptions.trustUnhashed). */
  trustedUnhashed?: boolean;
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
  /** Of `imported`, those no hash vouched for (imported under PlanOptions.trustUnhashed). */
  trustedUnhashed: number;
  unchanged: number;
  refused: Refusal[];
  bytes: number;
  seconds: number;
}

export interface PlanOptions {
  /**
   * Import archives that no {version}.json gives an h1/zh hash for (or that no
   * {version}.json lists, named `terraform-provider-{type}_{version}_{os}_{arch}.zip`).
   * Off by default: such bytes would be published without anything vouching for them.
   */
  trustUnhashed?: boolean;
}

const LINK_REASON = 'is a symbolic link; import never follows links';
const TRUST_FLAG = '--trust-unhashed';

/**
 * Finds every archive the directory offers, validating structure but not bytes.
 * Nothing below DIR is followed through a symbolic link: an export is untrusted,
 * and a link could make the mirror publish any file the importing user can read.
 */
export function planImport(dir: string, opts: PlanOptions = {}): ImportPlan {
  const plan: ImportPlan = { items: [], refused: [] };
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InvalidInput(`${dir} is not a directory`);
  }
  const rel = (p: string) => path.relative(dir, p) || '.';
  const refuseLink = (p: string) => plan.refused.push({ where: rel(p), reason: LINK_REASON });
  for (const hostname of subdirectories(dir, refuseLink)) {
    for (const namespace of subdirectories(path.join(dir, hostname), refuseLink)) {
      for (const type of subdirectories(path.join(dir, hostname, namespace), refuseLink)) {
        const typeDir = path.join(dir, hostname, namespace, type);
        try {
          const provider = providerFromNames(hostname, namespace, type);
          new ProviderPlanner(typeDir, provider, plan, rel, opts).plan();
        } catch (err) {
          plan.refused.push({ where: rel(typeDir), reason: (err as Error).message });
        }
      }
    }
  }
  return plan;
}

/** One {hostname}/{namespace}/{type} directory: its documents, the archives they list, and any they do not. */
class ProviderPlanner {
  /** File names a document accounted for (read, listed, or covered by a refusal). */
  private readonly accounted = new Set<string>();
  private readonly refusedVersions = new Set<string>();
  private readonly planned = new Set<string>();

  constructor(
    private readonly typeDir: string,
    private readonly provider: ProviderIdentity,
    private readonly out: ImportPlan,
    private readonly rel: (p: string) => string,
    private readonly opts: PlanOptions,
  ) {}

  plan(): void {
    try {
      this.planIndex();
    } finally {
      this.planUnlisted();
    }
  }

  private planIndex(): void {
    this.accounted.add('index.json');
    const versions = objectField(readDocument(path.join(this.typeDir, 'index.json')), 'versions', 'index.json');
    for (const version of Object.keys(versions)) {
      const docFile = path.join(this.typeDir, `${version}.json`);
      this.accounted.add(`${version}.json`);
      try {
        if (!isValidVersion(version)) throw new InvalidInput(`"${version}" is not a valid version`);
        const archives = objectField(readDocument(docFile), 'archives', `${version}.json`);
        for (const [platform, archive] of Object.entries(archives)) this.planListed(docFile, version, platform, archive);
      } catch (err) {
        this.refusedVersions.add(version);
        this.out.refused.push({ where: this.rel(docFile), reason: (err as Error).message });
      }
    }
  }

  private planListed(docFile: string, version: string, platform: string, archive: unknown): void {
    const where = `${this.rel(docFile)} archives.${platform}`;
    try {
      const url = (archive as { url?: unknown } | null)?.url;
      if (typeof url === 'string') this.accounted.add(url);
      const item = planArchive(this.typeDir, this.provider, version, platform, archive);
      if (!item.expected.sha256 && !item.expected.h1) {
        if (!this.opts.trustUnhashed) throw new InvalidInput(`${item.filename} has no h1 or zh hash to check it against; ${TRUST_FLAG} imports it anyway`);
        item.trustedUnhashed = true;
      }
      this.add(item);
    } catch (err) {
      this.out.refused.push({ where, reason: (err as Error).message });
    }
  }

  /** Zips no document listed, and links nothing read: refused, or (zips, when trusted) imported by their names. */
  private planUnlisted(): void {
    for (const entry of fs.readdirSync(this.typeDir, { withFileTypes: true }).sort(byName)) {
      if (this.accounted.has(entry.name)) continue;
      const file = path.join(this.typeDir, entry.name);
      if (entry.isSymbolicLink()) this.out.refused.push({ where: this.rel(file), reason: LINK_REASON });
      else if (entry.isFile() && entry.name.endsWith('.zip')) this.planUnlistedZip(file, entry.name);
    }
  }

  private planUnlistedZip(file: string, name: string): void {
    const named = PACKAGE_NAME.exec(name);
    const version = named?.[2];
    if (version !== undefined && this.refusedVersions.has(version)) return; // that document's refusal covers it
    try {
      if (!this.opts.trustUnhashed) {
        throw new InvalidInput(`${name} is not listed in any {version}.json, so there is no hash to check it against; ${TRUST_FLAG} imports it anyway`);
      }
      if (!named || named[1]!.toLowerCase() !== this.provider.type || !isValidVersion(version!)) {
        throw new InvalidInput(`${name} is not listed in any {version}.json and its name is not terraform-provider-${this.provider.type}_{version}_{os}_{arch}.zip`);
      }
      const platform = `${named[3]}_${named[4]}`;
      const item = planArchive(this.typeDir, this.provider, version!, platform, { url: name });
      if (this.planned.has(`${version} ${platform}`)) throw new InvalidInput(`${name} is not listed; ${version}.json names another archive for ${platform}`);
      this.add({ ...item, trustedUnhashed: true });
    } catch (err) {
      this.out.refused.push({ where: this.rel(file), reason: (err as Error).message });
    }
  }

  private add(item: ImportItem): void {
    this.planned.add(`${item.version} ${item.platform}`);
    this.out.items.push(item);
  }
}

/** The upstream release naming: terraform-provider-{type}_{version}_{os}_{arch}.zip. */
const PACKAGE_NAME = /^terraform-provider-(.+)_([^_]+)_([a-z0-9]+)_([a-z0-9]+)\.zip$/;

function byName(a: fs.Dirent, b: fs.Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
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
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  if (stat?.isSymbolicLink()) throw new InvalidInput(`${url} ${LINK_REASON}`);
  if (!stat?.isFile()) throw new InvalidInput(`${url} is listed but missing`);
  return { provider, version, platform, filename: url, file, size: stat.size, expected };
}

/** Imports a planned directory, one package at a time; refusals are collected, never thrown. */
export async function runImport(plan: ImportPlan, deps: IngestDeps, events: ImportEvents = {}, signal?: AbortSignal): Promise<ImportSummary> {
  const started = performance.now();
  const summary: ImportSummary = { imported: 0, trustedUnhashed: 0, unchanged: 0, refused: [...plan.refused], bytes: 0, seconds: 0 };
  const onBytes = (n: number) => {
    summary.bytes += n;
    events.bytes?.(n);
  };
  for (const [i, item] of plan.items.entries()) {
    signal?.throwIfAborted();
    events.itemStarted?.(item, i, plan.items.length);
    const [os = '', arch = ''] = item.platform.split('_');
    try {
      // The archive is opened by path: make sure it did not become a link since it was planned.
      if (fs.lstatSync(item.file).isSymbolicLink()) throw new InvalidInput(`${item.filename} ${LINK_REASON}`);
      const result = await ingestPackage(
        { ...deps, onBytes },
        { provider: item.provider, version: item.version, os, arch, filename: item.filename, file: item.file, origin: 'imported', expected: item.expected },
        signal,
      );
      const outcome = result.outcome === 'created' ? 'imported' : 'unchanged';
      summary[outcome]++;
      if (outcome === 'imported' && item.trustedUnhashed) summary.trustedUnhashed++;
      events.itemFinished?.(item, outcome, item.trustedUnhashed ? `no hash to check, trusted (${TRUST_FLAG})` : undefined);
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

/** Directories below `dir`, in name order; a link is reported to `refuseLink` and never entered. */
function subdirectories(dir: string, refuseLink: (p: string) => void): string[] {
  const names: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort(byName)) {
    if (e.name.startsWith('.')) continue;
    if (e.isSymbolicLink()) refuseLink(path.join(dir, e.name));
    else if (e.isDirectory()) names.push(e.name);
  }
  return names;
}

function readDocument(file: string): unknown {
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  if (stat?.isSymbolicLink()) throw new InvalidInput(`${path.basename(file)} ${LINK_REASON}`);
  if (!stat?.isFile()) throw new InvalidInput(`${path.basename(file)} is missing`);
  if (stat.size > MAX_DOCUMENT_BYTES) throw new LimitExceeded(`${path.basename(file)} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
  // O_NOFOLLOW: a link swapped in after the lstat above is still not followed.
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  let text: string;
  try {
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  try {
    return JSON.parse(text);
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
