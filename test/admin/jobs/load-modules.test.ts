/**
 * POST /admin/api/providers/load with module definitions, against a real
 * `tfmirror serve`: a fake registry over HTTPS whose module download points
 * at a tar.gz on a static HTTPS server, fetched by the real module fetcher.
 */
import fs from 'node:fs';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { runCli } from '../../fixtures/tfmirror.js';
import { moduleRecords, startAdminServe, startModulePeers, stored, type ModulePeers } from './module-peers.js';

const test = anyTest as TestFn<{ peers: ModulePeers }>;

test.before(async (t) => {
  t.context = { peers: await startModulePeers(['1.1.0', '1.2.0']) };
});
test.after.always(async (t) => t.context.peers?.close());

test.serial('a module block POSTed to /providers/load becomes a job whose module item succeeds, and the version is held', async (t) => {
  const { peers } = t.context;
  const api = await startAdminServe(peers);
  t.teardown(() => api.server.stop());

  // Invalid first: a bad module block is 400 with line and column, and no job is created.
  const before = (await api.call('GET', '/jobs')).json.total as number;
  const invalid = await api.call('POST', '/providers/load', 'module "acme/net/aws" {\n  versions = ["1.2.0"]\n}\nmodule "acme/net" {\n  versions = ["~> 1.0"]\n}\n');
  t.is(invalid.status, 400);
  t.like(invalid.json.error, { line: 4, column: 8 });
  t.regex(invalid.json.error.message, /invalid module source address "acme\/net"/);
  t.is((await api.call('GET', '/jobs')).json.total, before, 'nothing stored');
  t.deepEqual(moduleRecords(peers.s), []);

  // The dry run lists module items beside provider items, and stores nothing.
  const preview = await api.call('POST', '/providers/load/plan', 'provider "hashicorp/null" {\n  versions  = ["3.2.1"]\n  platforms = ["linux_amd64"]\n}\nmodule "acme/net/aws" {\n  versions = ["~> 1.0"]\n  latest   = 1\n}\n');
  t.is(preview.status, 200, JSON.stringify(preview.json));
  t.deepEqual(preview.json.items, [
    { kind: 'provider', source: 'registry.terraform.io/hashicorp/null', version: '3.2.1', platform: 'linux_amd64' },
    { kind: 'module', source: 'registry.terraform.io/acme/net/aws', version: '1.2.0', platform: '' },
  ]);
  t.is((await api.call('GET', '/jobs')).json.total, before, 'a dry run stores nothing');
  t.is(peers.archives.requests(), 0, 'nor fetches anything');

  const accepted = await api.call('POST', '/providers/load', 'module "acme/net/aws" {\n  versions = ["~> 1.0"]\n  latest   = 1\n}\n');
  t.is(accepted.status, 202, JSON.stringify(accepted.json));
  t.like(accepted.json, { items: 1, problems: [] });
  const job = await api.waitForJob(accepted.json.jobId);
  t.is(job.status, 'succeeded', JSON.stringify(job));
  t.like(job.items[0], { kind: 'module', source: 'registry.terraform.io/acme/net/aws', version: '1.2.0', platform: '', status: 'succeeded' });
  const rows = moduleRecords(peers.s);
  t.is(rows.length, 1);
  t.like(rows[0], { version: '1.2.0', subdir: 'net', holders: ['loaded'] });
  t.true(rows[0]!.size > 0);
  t.true(stored(peers.s, rows[0]!.archiveKey), 'the archive is in the store');
  t.is(peers.archives.requests('/net-1.2.0.tar.gz'), 1, 'fetched once');
});

test.serial('tfmirror load of a definitions file with a provider and a module loads both and names the module item', async (t) => {
  const { peers } = t.context;
  const file = peers.s.writeDefinitions(
    'mixed.hcl',
    'provider "hashicorp/null" {\n  versions  = ["3.2.1"]\n  platforms = ["linux_amd64"]\n}\n\nmodule "acme/net/aws" {\n  versions = ["1.1.0"]\n}\n',
  );
  const dry = await runCli(['load', '--dry-run', file], peers.env);
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stdout, /plan {5}registry\.terraform\.io\/hashicorp\/null 3\.2\.1 linux_amd64\n/);
  t.regex(dry.stdout, /plan {5}module registry\.terraform\.io\/acme\/net\/aws 1\.1\.0\n/);
  t.regex(dry.stdout, /1 packages and 1 module versions planned, 0 problems/);
  const res = await runCli(['load', file], peers.env);
  t.is(res.code, 0, res.stdout + res.stderr);
  // Finished items are progress lines, on stderr.
  t.regex(res.stderr, /loaded {3}module registry\.terraform\.io\/acme\/net\/aws 1\.1\.0/);
  t.regex(res.stdout, /2 loaded, 0 already held, 0 failed/);
  t.true(moduleRecords(peers.s).some((r) => r.version === '1.1.0' && r.holders.includes('loaded')));
  // Work trees and packed archives are gone with the process that made them.
  t.deepEqual(fs.readdirSync(path.join(peers.s.dir, 'data', 'module-staging')), []);
});
