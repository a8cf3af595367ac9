/**
 * Rules about the shape of server/src that no single behaviour test would
 * notice breaking: read from the TypeScript sources themselves.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const serverSrc = path.join(root, 'server', 'src');

function sourceFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f));
}

const rel = (file: string) => path.relative(serverSrc, file).split(path.sep).join('/');

/** Code without comments, so prose that mentions a pattern does not count. */
function code(file: string): string {
  // Newlines are kept so that line numbers stay true.
  return fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[^]*?\*\//g, (c) => c.replace(/[^\n]/g, ''))
    .replace(/^\s*\/\/.*$/gm, '');
}

/** Repositories are built once in runtime.ts and passed to services (issue: services receive their repositories). */
const REPOSITORY_FACTORY = 'runtime.ts';
const REPOSITORY_CONSTRUCTION = /\bnew\s+\w+Repository\s*\(/g;

function repositoryConstructionsOutsideDb(files: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const name = rel(file);
    if (name.startsWith('db/') || name === REPOSITORY_FACTORY) continue;
    const text = code(file);
    for (const m of text.matchAll(REPOSITORY_CONSTRUCTION)) {
      const line = text.slice(0, m.index).split('\n').length;
      found.push(`${name}:${line}: ${m[0].trim()}`);
    }
  }
  return found;
}

test('no repository is constructed outside server/src/db and runtime.ts', (t) => {
  const found = repositoryConstructionsOutsideDb(sourceFiles(serverSrc));
  t.deepEqual(found, [], `build repositories in createRepositories() and pass them in:\n${found.join('\n')}`);
});

test('the repository check sees the constructions it must refuse, and not comments', (t) => {
  // The rule is only as good as its pattern: prove it matches the forms that occur.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-arch-'));
  try {
    const probe = path.join(tmp, 'probe.ts');
    fs.writeFileSync(probe, 'const a = new JobRepository(db);\nconst b = new  UserRepository (runtime.db);\n// new CommentRepository(db)\n');
    const found = repositoryConstructionsOutsideDb([probe]).map((f) => f.replace(/^.*probe\.ts/, 'probe.ts'));
    t.deepEqual(found, ['probe.ts:1: new JobRepository(', 'probe.ts:2: new  UserRepository (']);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** STYLE rule 1: the domain imports no I/O, directly or through other server modules. */
const IO_MODULES = [/^koa$/, /^@koa\//, /^better-sqlite3$/, /^@aws-sdk\//, /^@kubernetes\/client-node$/, /^(node:)?(fs|fs\/promises|http|https|http2|net|dgram|child_process)$/];
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

function imports(file: string): string[] {
  return [...code(file).matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Every I/O module reachable from `start` through relative imports, with the chain that reaches it. */
function reachableIo(start: string): string[] {
  const seen = new Set<string>();
  const found: string[] = [];
  const visit = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of imports(file)) {
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
        if (fs.existsSync(target)) visit(target, [...chain, rel(target)]);
      } else if (IO_MODULES.some((re) => re.test(spec))) {
        found.push(`${chain.join(' → ')} imports ${spec}`);
      }
    }
  };
  visit(start, [rel(start)]);
  return found;
}

test('nothing under server/src/providers imports I/O, directly or transitively', (t) => {
  const found = sourceFiles(path.join(serverSrc, 'providers')).flatMap(reachableIo);
  t.deepEqual([...new Set(found)], []);
});

test('only server/src/hcl calls hcl2json, so its messages are read in one place', (t) => {
  const callers = sourceFiles(serverSrc)
    .filter((f) => imports(f).includes('@cdktf/hcl2json'))
    .map(rel);
  t.deepEqual(callers, ['hcl/parse-worker.ts']);
  const readers = sourceFiles(serverSrc)
    .filter((f) => !rel(f).startsWith('hcl/') && /parse config|\(\\\\d\+\),\(\\\\d\+\)-/.test(code(f)))
    .map(rel);
  t.deepEqual(readers, [], 'hcl2json diagnostics are parsed by hcl/diagnostics.ts only');
});
