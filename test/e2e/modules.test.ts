/**
 * The module mirror end to end with the real terraform CLI: registry modules
 * whose upstream packages are a git repository (git http-backend over HTTPS,
 * `?ref=` and `//subdir`) and a tar.gz with one top-level directory (named
 * `//dir` and `//*`), installed through the mirror by the `host` form of
 * /client-config and by a rewritten source address, then again with every
 * upstream server stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import Database from 'better-sqlite3';
import { type GitTree } from '../fixtures/git-server.js';
import { GIT_TREE, MODULES, type ModuleWorld, TAR_DIR, TAR_TREE, hasGit, httpsGet, mainTf, readFiles, startModuleWorld } from '../fixtures/module-world.js';
import { findTerraform, terraform } from '../fixtures/terraform.js';

const tf = findTerraform();
const git = hasGit();
if (!tf) console.log('# skipping the module end-to-end tests: the terraform CLI is not on PATH');
else if (!git) console.log('# skipping the module end-to-end tests: the git CLI is not on PATH');
const test = (tf && git ? anyTest.serial : anyTest.skip) as TestFn<{ w: ModuleWorld }>;

test.before(async (t) => {
  if (!tf || !git) return;
  t.context.w = await startModuleWorld();
});
test.after.always(async (t) => t.context.w?.close());

const CALLS = { net: MODULES.git, tar: MODULES.tar, star: MODULES.star };
const A = 'hosts/registry.terraform.io/v1/modules';

interface InstalledModule {
  Key: string;
  Source: string;
  Version?: string;
  Dir: string;
}
const installed = (cwd: string): InstalledModule[] =>
  (JSON.parse(fs.readFileSync(path.join(cwd, '.terraform/modules/modules.json'), 'utf8')) as { Modules: InstalledModule[] }).Modules;

/** Tar entries as the fixture wrote them, as a tree of files. */
const tarTree = (): GitTree => Object.fromEntries(Object.entries(TAR_TREE));

function checkInstalled(t: ExecutionContext<{ w: ModuleWorld }>, cwd: string, sourcePrefix = 'registry.terraform.io/') {
  const mods = new Map(installed(cwd).map((m) => [m.Key, m]));
  const net = mods.get('net')!;
  t.is(net.Source, `${sourcePrefix}${MODULES.git.source}`);
  t.is(net.Version, '1.2.0');
  t.is(net.Dir, '.terraform/modules/net/modules/sub');
  // The whole package is the repository tree at v1.2.0, no .git; the module is its //modules/sub.
  t.deepEqual(readFiles(path.join(cwd, '.terraform/modules/net')), GIT_TREE);
  t.is(mods.get('tar')!.Dir, `.terraform/modules/tar/${TAR_DIR}`);
  t.deepEqual(readFiles(path.join(cwd, '.terraform/modules/tar')), tarTree());
  // `//*` reached Terraform as the directory's name, which it then found.
  t.is(mods.get('star')!.Dir, `.terraform/modules/star/${TAR_DIR}`);
  t.deepEqual(readFiles(path.join(cwd, '.terraform/modules/star')), tarTree());
}

test('terraform init through the host block installs a git module (ref and //subdir) and tar.gz modules (//dir and //*) from the mirror, the trees equal upstream', async (t) => {
  const { w } = t.context;
  const { cwd, env } = w.workspace('host-form', mainTf(CALLS), w.hostsRc, 'mirror');
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd, env });
  t.is(init.code, 0, init.output);
  checkInstalled(t, cwd);
  t.true(w.git.requests(/^\/network\.git\//) > 0, 'the mirror fetched the repository');
});

test('the download answer names the directory explicitly where the upstream wrote //*, and keeps //subdir for git', async (t) => {
  const { w } = t.context;
  const star = await httpsGet(`${w.mirrorUrl}${A}/acme/starmod/aws/3.0.0/download`, w.mirrorBundle);
  t.is(star.status, 204);
  t.is(star.headers['x-terraform-get'], `${w.mirrorUrl}${A}/acme/starmod/aws/3.0.0/archive.tar.gz//${TAR_DIR}`);
  const net = await httpsGet(`${w.mirrorUrl}${A}/acme/gitmod/aws/1.2.0/download`, w.mirrorBundle);
  t.is(net.headers['x-terraform-get'], `${w.mirrorUrl}${A}/acme/gitmod/aws/1.2.0/archive.tar.gz//modules/sub`);
});

test('a rewritten source address (mirror host/namespace/name/system) installs through discovery', async (t) => {
  const { w } = t.context;
  // Terraform wants a dot in a registry hostname, so not "localhost:PORT"; the mirror's certificate names 127.0.0.1.
  const host = `127.0.0.1:${new URL(w.mirrorUrl).port}`;
  const wellKnown = JSON.parse((await httpsGet(`https://${host}/.well-known/terraform.json`, w.mirrorBundle)).body.toString('utf8')) as Record<string, string>;
  t.is(wellKnown['modules.v1'], '/hosts/registry.terraform.io/v1/modules/');
  const { cwd, env } = w.workspace('rewritten', mainTf(CALLS, host), '', 'mirror');
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd, env });
  t.is(init.code, 0, init.output);
  checkInstalled(t, cwd, `${host}/`);
});

test('the same tree fetched twice gives byte-identical archives: two tags on one tree, one tarball under two URLs', async (t) => {
  const { w } = t.context;
  const archive = async (name: string, version: string) => {
    const d = await httpsGet(`${w.mirrorUrl}${A}/acme/${name}/aws/${version}/download`, w.mirrorBundle);
    t.is(d.status, 204, `${name} ${version}`);
    const url = String(d.headers['x-terraform-get']).replace(/archive\.tar\.gz\/\/.*$/, 'archive.tar.gz');
    const got = await httpsGet(url, w.mirrorBundle);
    t.is(got.status, 200);
    return got.body;
  };
  const [v120, v121] = [await archive('gitmod', '1.2.0'), await archive('gitmod', '1.2.1')];
  t.true(v120.equals(v121), 'v1.2.0 and v1.2.1 name commits of the same tree');
  t.true((await archive('tarmod', '2.0.0')).equals(await archive('tarmod', '2.0.1')));

  const db = new Database(path.join(w.setup.dir, 'data', 'tfmirror.db'), { readonly: true });
  t.teardown(() => db.close());
  const rows = db
    .prepare(`SELECT v.version, v.sha256, v.git_commit AS pinned FROM module_versions v JOIN modules m ON m.id = v.module_id WHERE m.name = 'gitmod' ORDER BY v.version`)
    .all() as { version: string; sha256: string; pinned: string }[];
  t.deepEqual(rows.map((r) => r.version), ['1.2.0', '1.2.1']);
  t.is(rows[0]!.sha256, rows[1]!.sha256);
  t.is(rows[0]!.pinned, await w.git.revParse('network', 'v1.2.0'));
  t.is(rows[1]!.pinned, await w.git.revParse('network', 'v1.2.1'));
  t.not(rows[0]!.pinned, rows[1]!.pinned);
});

test('a second terraform init in a clean directory succeeds with the upstream registry, the git server and the archive server all stopped', async (t) => {
  const { w } = t.context;
  await w.git.stop();
  await w.setup.registry.close();
  await w.archives.close();
  w.git.resetCounters();
  const { cwd, env } = w.workspace('outage', mainTf(CALLS), w.hostsRc, 'mirror');
  const init = await terraform(['init', '-no-color', '-input=false'], { cwd, env });
  t.is(init.code, 0, init.output);
  checkInstalled(t, cwd);
  t.is(w.git.requests(), 0);
});
