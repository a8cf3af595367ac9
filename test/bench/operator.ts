/**
 * Operator figures against issue #12's goals: 1,000 ProviderSets to Ready with
 * the content already held, and the operator's RSS with 1,000 objects in its
 * informer caches. The objects carry what `kubectl apply` leaves on a real
 * apiserver (the last-applied annotation, managedFields), because that is what
 * an informer cache holds in a cluster. Fake kube-apiserver, real server and
 * operator processes; all on loopback.
 * BENCH_OPERATOR_PROF=DIR writes a CPU profile of the operator there;
 * BENCH_OPERATOR_NODE_ARGS sets the operator's node flags (default: the NODE_OPTIONS config/manager
 * and the chart give the operator container; "" for Node's defaults). CPU
 * seconds of each process (server, operator, this one with the fake
 * apiserver) show where the batch's time goes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { FakeKubeApiserver } from '../fixtures/fake-kube-apiserver.js';
import { loadSetup } from '../fixtures/load-setup.js';
import { cleanEnv, cliPath, runCli, startServe } from '../fixtures/tfmirror.js';

const TOKEN = 'bench-operator-token-Qz7xW2kP9mLr4Tb8Nc1Hv5Jd';
const COUNT = 1000;
const SPEC = { providers: [{ source: 'hashicorp/null', versions: ['3.2.1'], platforms: ['linux_amd64'] }] };

/** What a real apiserver and `kubectl apply` add to an object's metadata. */
function appliedMetadata(name: string): Record<string, unknown> {
  const body = { apiVersion: 'tfmirror.dev/v1alpha1', kind: 'ProviderSet', metadata: { name, namespace: 'bench' }, spec: SPEC };
  const time = new Date().toISOString().slice(0, 19) + 'Z';
  return {
    name,
    namespace: 'bench',
    labels: { 'app.kubernetes.io/part-of': 'platform', team: 'infra' },
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(body)}\n` },
    managedFields: [
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'tfmirror.dev/v1alpha1',
        time,
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} }, 'f:labels': { '.': {}, 'f:app.kubernetes.io/part-of': {}, 'f:team': {} } },
          'f:spec': { '.': {}, 'f:providers': {} },
        },
      },
      {
        manager: 'tfmirror',
        operation: 'Update',
        apiVersion: 'tfmirror.dev/v1alpha1',
        time,
        fieldsType: 'FieldsV1',
        subresource: 'status',
        fieldsV1: {
          'f:status': {
            '.': {},
            'f:conditions': {},
            'f:desired': {},
            'f:failed': {},
            'f:observedGeneration': {},
            'f:ready': {},
            'f:lastSyncTime': {},
          },
        },
      },
    ],
  };
}

interface Row {
  figure: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
}

export async function benchOperator(): Promise<void> {
  const prof = process.env.BENCH_OPERATOR_PROF ? path.resolve(process.env.BENCH_OPERATOR_PROF) : undefined;
  const s = await loadSetup([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.1': ['linux_amd64'] } }]);
  const kube = await FakeKubeApiserver.start({ bookmarkIntervalMs: 0, historyLimit: 10 * COUNT });
  const defs = s.writeDefinitions('held.yaml', 'providers:\n  - source: hashicorp/null\n    versions: ["3.2.1"]\n    platforms: [linux_amd64]\n');
  await runCli(['load', defs], s.env);
  const server = await startServe({ ...s.env, TFM_SERVER_LISTEN: '127.0.0.1:0', TFM_AUTH_OPERATOR_TOKEN: TOKEN, TFM_LOG_LEVEL: 'warn' });
  const kubeconfig = path.join(s.dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());
  const nodeArgs = process.env.BENCH_OPERATOR_NODE_ARGS ?? deployedNodeOptions();
  const profArgs = [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), ...nodeArgs.split(' ').filter(Boolean)];
  const operator = spawn(process.execPath, [...profArgs, cliPath, 'operator'], {
    // Configured by environment only, as the chart runs it: a config file would be parsed by the HCL
    // parser's worker thread, which stays for the life of the process.
    env: cleanEnv({
      ...(process.env.BENCH_OPERATOR_CONFIG_FILE ? { TFM_CONFIG: s.env.TFM_CONFIG! } : {}),
      KUBECONFIG: kubeconfig,
      POD_NAMESPACE: 'tfmirror',
      TFM_LOG_LEVEL: 'warn',
      TFM_OPERATOR_SERVER_URL: server.url.replace(/\/$/, ''),
      TFM_OPERATOR_TOKEN: TOKEN,
      NODE_EXTRA_CA_CERTS: path.join(s.dir, 'data', 'tls', 'ca.crt'),
    }),
    stdio: 'ignore',
  });
  const operatorExited = new Promise((r) => operator.on('exit', r));
  const objects = kube.kubeConfig().makeApiClient(CustomObjectsApi);
  const create = (name: string) =>
    objects.createNamespacedCustomObject({
      group: 'tfmirror.dev',
      version: 'v1alpha1',
      namespace: 'bench',
      plural: 'providersets',
      body: { apiVersion: 'tfmirror.dev/v1alpha1', kind: 'ProviderSet', metadata: appliedMetadata(name), spec: SPEC },
    });
  const readyCount = () =>
    kube.objects('ProviderSet').filter((o) => ((o as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')).length;
  const waitReady = async (n: number) => {
    const deadline = Date.now() + 300_000;
    while (readyCount() < n) {
      if (Date.now() > deadline) throw new Error(`only ${readyCount()} of ${n} ready`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const memory = () => {
    const status = fs.readFileSync(`/proc/${operator.pid}/status`, 'utf8');
    const mb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
    return { rss: mb('VmRSS'), hwm: mb('VmHWM') };
  };
  const rows: Row[] = [];
  try {
    await new Promise((r) => setTimeout(r, 2000)); // leader election and informer sync
    const idle = memory();
    let t0 = performance.now();
    await create('one');
    await waitReady(1);
    rows.push({ figure: '1 ProviderSet create → Ready', goal: '', measured: `${(performance.now() - t0).toFixed(0)} ms`, met: undefined });

    // Created the way `kubectl apply -f dir/` would in bulk: many at once, but not all in one instant.
    const requestsBefore = kube.requests.length;
    const cpuBefore = { server: cpuSeconds(server.child.pid), operator: cpuSeconds(operator.pid), self: process.cpuUsage() };
    t0 = performance.now();
    for (let i = 0; i < COUNT; i += 100) await Promise.all(Array.from({ length: Math.min(100, COUNT - i) }, (_, j) => create(`set-${i + j}`)));
    const created = performance.now() - t0;
    await waitReady(COUNT + 1);
    const toReady = (performance.now() - t0) / 1000;
    const selfCpu = process.cpuUsage(cpuBefore.self);
    const cpu = {
      server: cpuSeconds(server.child.pid) - cpuBefore.server,
      operator: cpuSeconds(operator.pid) - cpuBefore.operator,
      self: (selfCpu.user + selfCpu.system) / 1e6,
    };
    const kubeRequests = kube.requests.slice(requestsBefore);
    const verbs = new Map<string, number>();
    for (const r of kubeRequests) {
      const key = `${r.method} ${r.path.endsWith('/status') ? 'status' : r.path.includes('/events') ? 'events' : r.query.watch ? 'watch' : 'object'}`;
      verbs.set(key, (verbs.get(key) ?? 0) + 1);
    }
    rows.push({ figure: `${COUNT} ProviderSets created → all Ready`, goal: '< 30 s', measured: `${toReady.toFixed(1)} s (creating them: ${(created / 1000).toFixed(1)} s)`, met: toReady < 30 });

    await new Promise((r) => setTimeout(r, 3000)); // let the queue drain and the heap settle
    const after = memory();
    rows.push({ figure: 'operator node flags', goal: '', measured: profArgs.join(' ') || '(none)', met: undefined });
    rows.push({ figure: `operator RSS with ${COUNT + 1} objects cached`, goal: '< 150 MB', measured: `${after.rss.toFixed(0)} MB (peak ${after.hwm.toFixed(0)} MB, idle ${idle.rss.toFixed(0)} MB)`, met: after.rss < 150 });
    rows.push({
      figure: 'CPU during the batch',
      goal: '',
      measured: `server ${cpu.server.toFixed(1)} s, operator ${cpu.operator.toFixed(1)} s, fake apiserver + bench ${cpu.self.toFixed(1)} s`,
      met: undefined,
    });
    rows.push({ figure: 'kube-apiserver requests for the batch', goal: '', measured: [...verbs].map(([k, v]) => `${k} ${v}`).join(', '), met: undefined });
    printTable(rows);
  } finally {
    operator.kill('SIGTERM');
    await operatorExited;
    await server.stop();
    await kube.close();
    await s.close();
  }
}

/** User + system CPU of a process so far, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function printTable(rows: Row[]): void {
  const cells = [['operator', 'goal', 'measured', 'met'], ...rows.map((r) => [r.figure, r.goal, r.measured, r.met === undefined ? '' : r.met ? 'yes' : 'NO'])];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  for (const c of cells) console.log(`| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`);
  console.log('');
}

/** The operator container's NODE_OPTIONS in config/manager, so the bench measures the operator as it is deployed. */
function deployedNodeOptions(): string {
  const manifest = fs.readFileSync(new URL('../../../config/manager/manager.yaml', import.meta.url), 'utf8');
  return /- name: NODE_OPTIONS\s+value: (.+)/.exec(manifest)?.[1]?.trim() ?? '';
}
