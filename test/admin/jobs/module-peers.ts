/**
 * Real peers for module loads through a real `tfmirror serve`: a fake
 * registry over HTTPS whose module downloads point at tar.gz archives on a
 * static HTTPS server, one CA file trusting both, and an admin API client.
 */
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { loadSetup, type LoadSetup } from '../../fixtures/load-setup.js';
import { tarGz } from '../../fixtures/module-archives.js';
import { startStaticServer, type StaticServer } from '../../fixtures/static-server.js';
import { startServe, type ServeProcess } from '../../fixtures/tfmirror.js';

export const OPERATOR = 'module-load-operator-token-Hx83kLq2Vn7Rt5Wz';

export interface ModulePeers {
  s: LoadSetup;
  archives: StaticServer;
  /** Environment for tfmirror children: config and the trust of both peers. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** acme/net/aws at `versions`, each an archive `net-{version}.tar.gz` with the module in its top directory `net`. */
export async function startModulePeers(versions: string[]): Promise<ModulePeers> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-module-archives-'));
  for (const v of versions) {
    fs.writeFileSync(
      path.join(root, `net-${v}.tar.gz`),
      tarGz([
        { name: 'net/', type: 'directory' },
        { name: 'net/main.tf', content: `# acme/net ${v}\nvariable "cidr" {}\n` },
        { name: 'net/modules/sub/main.tf', content: 'output "x" { value = 1 }\n' },
      ]),
    );
  }
  const archives = await startStaticServer(root);
  const s = await loadSetup([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.1': ['linux_amd64'] } }], {
    modules: [{ namespace: 'acme', name: 'net', system: 'aws', versions: Object.fromEntries(versions.map((v) => [v, `${archives.url}net-${v}.tar.gz//net`])) }],
  });
  // NODE_EXTRA_CA_CERTS takes one file: both peers' CAs in it.
  const caFile = path.join(s.dir, 'peers-ca.pem');
  fs.writeFileSync(caFile, `${s.registry.caPem}\n${archives.caPem}\n`);
  return {
    s,
    archives,
    env: { ...s.env, NODE_EXTRA_CA_CERTS: caFile },
    async close() {
      await archives.close();
      await s.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface AdminClient {
  server: ServeProcess;
  call(method: string, p: string, body?: string | object): Promise<{ status: number; json: any }>;
  /** Polls a job until it ends (30 s at most). */
  waitForJob(id: number): Promise<any>;
}

export async function startAdminServe(peers: ModulePeers): Promise<AdminClient> {
  const server = await startServe({ ...peers.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_OPERATOR_TOKEN: OPERATOR });
  const bundle = /export SSL_CERT_FILE=(\S+)/.exec(server.stderr())![1]!;
  const agent = new https.Agent({ ca: fs.readFileSync(bundle) });
  const call = (method: string, p: string, body?: string | object) =>
    new Promise<{ status: number; json: any }>((resolve, reject) => {
      const headers: Record<string, string> = { authorization: `Bearer ${OPERATOR}` };
      if (body !== undefined) headers['content-type'] = typeof body === 'string' ? 'application/hcl' : 'application/json';
      const req = https.request(new URL(`admin/api${p}`, server.url), { method, agent, headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
    });
  return {
    server,
    call,
    async waitForJob(id) {
      let job = { status: 'pending' } as any;
      for (let i = 0; i < 150 && !['succeeded', 'failed'].includes(job.status); i++) {
        await new Promise((r) => setTimeout(r, 200));
        job = (await call('GET', `/jobs/${id}`)).json;
      }
      return job;
    },
  };
}

export interface ModuleVersionRecord {
  version: string;
  subdir: string | null;
  size: number;
  archiveKey: string;
  holders: string[];
}

/** The module versions of acme/net/aws as recorded, with their holders ("loaded", "set:ModuleSet/ns/name"). */
export function moduleRecords(s: LoadSetup): ModuleVersionRecord[] {
  const file = path.join(s.dir, 'data', 'tfmirror.db');
  if (!fs.existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT v.id, v.version, v.subdir, v.size, v.archive_key AS archiveKey FROM module_versions v JOIN modules m ON m.id = v.module_id
          WHERE m.namespace = 'acme' AND m.name = 'net' AND m.system = 'aws' ORDER BY v.version`,
      )
      .all() as (Omit<ModuleVersionRecord, 'holders'> & { id: number })[];
    const holders = db.prepare(`SELECT holder_kind AS kind, set_kind AS setKind, set_namespace AS ns, set_name AS name FROM module_holders WHERE module_version_id = ?`);
    return rows.map(({ id, ...r }) => ({
      ...r,
      holders: (holders.all(id) as { kind: string; setKind: string; ns: string; name: string }[])
        .map((h) => (h.kind === 'set' ? `set:${h.setKind}/${h.ns}/${h.name}` : h.kind))
        .sort(),
    }));
  } finally {
    db.close();
  }
}

/** Whether the filesystem store holds an object under `key`. */
export function stored(s: LoadSetup, key: string): boolean {
  return fs.existsSync(path.join(s.dir, 'data', 'storage', key));
}
