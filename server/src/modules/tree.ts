/**
 * The checks every module tree passes before it is packed, whether it was
 * unpacked from an archive or checked out by git: entry names that stay
 * inside the tree, no devices, links resolved inside the tree and turned into
 * plain copies of their target (every client then sees files; a link to a
 * directory is refused, since copying it could multiply the tree), and the
 * entry and size limits. `.git` is never part of a module package.
 */

import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidInput, LimitExceeded } from '../errors.js';
import type { ModuleLimits } from './ports.js';

export interface TreeStats {
  /** Files and directories below the root. */
  entries: number;
  files: number;
  /** Total size of the files. */
  bytes: number;
}

const MAX_LINK_HOPS = 16;
const MAX_PATH_BYTES = 1024;
const MAX_NAME_BYTES = 255;
const posix = path.posix;

/**
 * Vets an entry name from an untrusted archive and returns it normalized
 * (`./a//b/` → `a/b`); undefined for the root itself (`./`). Names are
 * always `/`-separated: a backslash is refused rather than guessed at.
 */
export function checkEntryName(name: string, what = 'entry'): string | undefined {
  const label = `${what} ${JSON.stringify(name)}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new InvalidInput(`${label} has a control character in its name`);
  if (name.includes('\\')) throw new InvalidInput(`${label} has a backslash in its name`);
  if (name.startsWith('/')) throw new InvalidInput(`${label} is an absolute path`);
  if (/^[A-Za-z]:/.test(name)) throw new InvalidInput(`${label} starts with a drive letter`);
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new InvalidInput(`${label} has a ".." segment`);
  // File systems refuse longer names (NAME_MAX, PATH_MAX with the staging prefix): say so instead of failing on write.
  if (Buffer.byteLength(name) > MAX_PATH_BYTES || segments.some((s) => Buffer.byteLength(s) > MAX_NAME_BYTES)) {
    throw new InvalidInput(`${label.slice(0, 80)}…" is longer than ${MAX_PATH_BYTES} bytes or has a name over ${MAX_NAME_BYTES}`);
  }
  return segments.length === 0 ? undefined : segments.join('/');
}

/**
 * Where a link at `linkPath` (relative to the root) points, resolved
 * lexically from the link's directory; refused when that leaves the tree.
 */
export function linkTarget(linkPath: string, target: string): string {
  const label = `symbolic link ${JSON.stringify(linkPath)}`;
  // eslint-disable-next-line no-control-regex
  if (target === '' || /[\u0000-\u001f\u007f\\]/.test(target)) {
    throw new InvalidInput(`${label} has an empty or unsafe target ${JSON.stringify(target)}`);
  }
  if (target.startsWith('/')) throw new InvalidInput(`${label} points outside the tree (to the absolute path ${JSON.stringify(target)})`);
  const resolved = posix.normalize(posix.join(posix.dirname(linkPath), target));
  if (resolved === '..' || resolved.startsWith('../')) {
    throw new InvalidInput(`${label} points outside the tree (${JSON.stringify(target)})`);
  }
  return resolved === '.' ? '' : resolved;
}

/**
 * Walks `root`, replaces every symbolic link by a copy of the file it points
 * to inside the tree, refuses anything else that is not a file or directory,
 * and applies the limits. Returns what the tree holds afterwards.
 */
export async function checkTree(root: string, limits: ModuleLimits, signal?: AbortSignal): Promise<TreeStats> {
  const stats: TreeStats = { entries: 0, files: 0, bytes: 0 };
  const count = (rel: string, size: number, isFile: boolean): void => {
    stats.entries += 1;
    if (stats.entries > limits.maxEntries) {
      throw new LimitExceeded(
        `module tree has more than ${limits.maxEntries} entries (limits.module_max_entries; reached at ${JSON.stringify(rel)})`,
      );
    }
    if (!isFile) return;
    stats.files += 1;
    stats.bytes += size;
    if (stats.bytes > limits.maxTreeBytes) {
      throw new LimitExceeded(
        `module tree holds more than ${limits.maxTreeBytes} bytes (limits.module_max_tree_bytes; reached at ${JSON.stringify(rel)})`,
      );
    }
  };
  const walk = async (relDir: string): Promise<void> => {
    signal?.throwIfAborted();
    const names = (await fs.readdir(path.join(root, relDir))).sort();
    for (const name of names) {
      if (name === '.git') continue;
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      checkEntryName(rel);
      const abs = path.join(root, rel);
      let st = await fs.lstat(abs);
      if (st.isSymbolicLink()) {
        await materializeLink(root, rel);
        st = await fs.lstat(abs);
      }
      if (st.isDirectory()) {
        count(rel, 0, false);
        await walk(rel);
      } else if (st.isFile()) {
        count(rel, st.size, true);
      } else {
        throw new InvalidInput(`entry ${JSON.stringify(rel)} is a ${kindOf(st)}; module packages hold only files and directories`);
      }
    }
  };
  await walk('');
  return stats;
}

/** Replaces the link at `rel` by a copy of the regular file it leads to, inside `root`. */
async function materializeLink(root: string, rel: string): Promise<void> {
  const target = await resolveInTree(root, rel);
  const abs = path.join(root, rel);
  const mode = (await fs.stat(path.join(root, target))).mode & 0o111 ? 0o755 : 0o644;
  await fs.unlink(abs);
  await fs.copyFile(path.join(root, target), abs, fs.constants.COPYFILE_EXCL);
  await fs.chmod(abs, mode);
}

/**
 * Follows the link at `rel` component by component, never through anything
 * outside `root` (a link in the middle of the path is resolved the same way),
 * to a regular file; returns its path relative to the root.
 */
async function resolveInTree(root: string, rel: string): Promise<string> {
  const label = `symbolic link ${JSON.stringify(rel)}`;
  let pending = linkTarget(rel, await fs.readlink(path.join(root, rel))).split('/').filter((s) => s !== '');
  let done: string[] = [];
  let hops = 1;
  while (pending.length > 0) {
    const current = [...done, pending[0]!].join('/');
    let st;
    try {
      st = await fs.lstat(path.join(root, current));
    } catch {
      throw new InvalidInput(`${label} points to ${JSON.stringify(current)}, which is not in the tree`);
    }
    if (st.isSymbolicLink()) {
      hops += 1;
      if (hops > MAX_LINK_HOPS) throw new InvalidInput(`${label} goes through more than ${MAX_LINK_HOPS} links`);
      const next = linkTarget(current, await fs.readlink(path.join(root, current)));
      pending = [...next.split('/').filter((s) => s !== ''), ...pending.slice(1)];
      done = [];
      continue;
    }
    if (pending.length > 1 && !st.isDirectory()) {
      throw new InvalidInput(`${label} points below ${JSON.stringify(current)}, which is not a directory`);
    }
    if (pending.length === 1) {
      if (st.isDirectory()) {
        throw new InvalidInput(`${label} points to the directory ${JSON.stringify(current || '.')}; only links to files are supported`);
      }
      if (!st.isFile()) throw new InvalidInput(`${label} points to a ${kindOf(st)}`);
    }
    done.push(pending[0]!);
    pending = pending.slice(1);
  }
  if (done.length === 0) throw new InvalidInput(`${label} points to the root directory; only links to files are supported`);
  return done.join('/');
}

/**
 * The subdirectory to hand out: `*` (as the first segment) becomes the name
 * of the single top-level directory, and the result must be a directory in
 * the tree. `where` names the location for the message.
 */
export async function resolveSubdir(root: string, subdir: string | undefined, where: string): Promise<string | undefined> {
  if (subdir === undefined) return undefined;
  const segments = subdir.split('/');
  if (segments[0] === '*') {
    const top = (await fs.readdir(root, { withFileTypes: true })).filter((e) => e.name !== '.git');
    const only = top[0];
    if (top.length !== 1 || only === undefined || !only.isDirectory()) {
      throw new InvalidInput(
        `${where} asks for //* (the single top-level directory), but the tree has ${top.length} top-level entries` +
          (top.length === 1 ? ' and it is not a directory' : ''),
      );
    }
    segments[0] = only.name;
  }
  // `.git` is never packed, so a subdirectory in it could not be handed out.
  if (segments.includes('.git')) throw new InvalidInput(`subdirectory ${JSON.stringify(subdir)} of ${where} is inside .git`);
  const resolved = segments.join('/');
  const st = await fs.lstat(path.join(root, resolved)).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) {
    throw new InvalidInput(`subdirectory ${JSON.stringify(resolved)} not found in ${where}`);
  }
  return resolved;
}

function kindOf(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSocket()) return 'socket';
  return 'special file';
}
