/** Shared by the config tests: temp dirs and loading a config text with an explicit env. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/src/config/load.js';
import { InvalidInput } from '../../server/src/errors.js';

const created: string[] = [];

export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-config-'));
  created.push(dir);
  return dir;
}

/** For test.after.always: the temp dirs this worker made. */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes `text` as <dir>/<name> and loads it with an explicit env (process.env is never touched). */
export async function loadText(text: string, env: NodeJS.ProcessEnv = {}, name = 'tfm.hcl') {
  const dir = tempDir();
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return { dir, file, config: await loadConfig({ file, env, cwd: dir }) };
}

export async function loadError(text: string | undefined, env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir();
  const file = path.join(dir, 'tfm.hcl');
  if (text !== undefined) fs.writeFileSync(file, text);
  const load = loadConfig({ file: text === undefined ? undefined : file, env, cwd: dir });
  const err = await load.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof InvalidInput)) throw new Error(`expected InvalidInput, got ${String(err)}`);
  return { err, file };
}

