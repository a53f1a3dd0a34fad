// Steady-state API load of cluster-mgr on REAL control planes (issue 11 benchmark): three members
// (etcd, kube-apiserver, controller-manager, scheduler, kwok workers), 500 FederatedApps (one replica
// each, a propagated ConfigMap per namespace), cluster-mgr in this process (runDaemon, health.interval
// 1 s, probe timeout 3 s). Once every app runs Ready and cluster-mgr has written nothing for 15 s, the requests
// cluster-mgr makes are counted per member over a window — from each kube-apiserver's audit log
// (level Metadata, filtered on cluster-mgr's User-Agent): apiserver_request_total has no client
// label, and the controllers and kwok share the apiserver. Also: whether any LIST happened after
// start-up (target: none — watches resume from their resourceVersion), from the audit log and from
// the informers' own list counters.
//
//   steadyStateReal(opts)  → the figures (the failover-real bench calls this)
//   default export         → `npm run bench -- steady-real`
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { stringify } from 'yaml';
import { loadFederation } from '../../cluster-mgr/config/index';
import { KubeMember } from '../../cluster-mgr/adapters/kube';
import { runDaemon, type Running } from '../../cluster-mgr/daemon/main';
import { k8sAssets } from '../../scripts/lab/k8s-assets';
import { labKubeconfig, startControlPlanes, type ControlPlane } from '../../scripts/lab/controlplane';
import { deploymentTemplate } from '../cluster-mgr/app-doc';
import type { BenchResult } from './run';

export interface SteadyOptions {
  /** @default 500 */
  readonly apps?: number;
  /** @default 3 */
  readonly members?: number;
  /** Counting window. @default 60 s */
  readonly windowMs?: number;
  /** The window opens once cluster-mgr has written nothing on any member for this long (after every app runs Ready). @default 15 s */
  readonly settleMs?: number;
  /** Keep the folder with the audit logs and cluster-mgr's log. @default false (kept only when the run fails) */
  readonly keep?: boolean;
  /** Deadline for start-up (every app Ready). @default 20 min */
  readonly startupTimeoutMs?: number;
}

export interface MemberLoad {
  readonly member: string;
  /** cluster-mgr's requests to this member's API server per minute over the window. */
  readonly perMinute: number;
  /** Requests in the window by verb and resource (`get /readyz`, `watch pods`, `patch configmaps`, …). */
  readonly byVerb: Readonly<Record<string, number>>;
  /** LIST requests after start-up (from every app Ready to the end of the window). */
  readonly listsAfterStartup: number;
}

export interface SteadyState {
  readonly apps: number;
  readonly windowMs: number;
  /** From cluster-mgr's start until every app ran Ready. */
  readonly startupMs: number;
  /** From every app Ready until cluster-mgr had written nothing for `settleMs` (the window opens then). */
  readonly settleMs: number;
  readonly members: readonly MemberLoad[];
  /** LISTs after start-up, every member (audit logs). */
  readonly listsAfterStartup: number;
  /** Lists cluster-mgr's informers made after start-up, by their own count (0: every watch resumed). */
  readonly informerListsAfterStartup: number;
  /** Where the audit logs and cluster-mgr's log were kept (removed unless the run failed or `keep`). */
  readonly dir: string;
}

const AUDIT_POLICY = stringify({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'], rules: [{ level: 'Metadata' }] });
const USER_AGENT = 'cluster-mgr';

/** Counts cluster-mgr's requests in one audit log: in [from, to) by verb, and LISTs at or after `listsFrom`. */
async function countRequests(file: string, from: number, to: number, listsFrom: number): Promise<{ byVerb: Record<string, number>; total: number; lists: number }> {
  const seen = new Set<string>();
  const byVerb: Record<string, number> = {};
  let total = 0;
  let lists = 0;
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes(`"userAgent":"${USER_AGENT}"`)) continue;
    const e = JSON.parse(line) as { auditID: string; verb: string; requestURI: string; objectRef?: { resource?: string }; requestReceivedTimestamp: string };
    if (seen.has(e.auditID)) continue; // a watch is logged when it starts and when it ends
    seen.add(e.auditID);
    const t = Date.parse(e.requestReceivedTimestamp);
    if (e.verb === 'list' && t >= listsFrom) lists++;
    if (t < from || t >= to) continue;
    const what = `${e.verb} ${e.objectRef?.resource ?? e.requestURI.split('?')[0]}`;
    byVerb[what] = (byVerb[what] ?? 0) + 1;
    total++;
  }
  return { byVerb, total, lists };
}

function appDoc(i: number, namespaces: number) {
  const name = `app-${i}`;
  return {
    name,
    namespace: `steady-${i % namespaces}`,
    replicas: 1,
    template: deploymentTemplate(name, {
      containers: [{ name: 'c', image: 'registry.example.com/app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
      volumes: [{ name: 'cfg', configMap: { name: 'shared-config' } }],
    }),
    propagate: [{ kind: 'ConfigMap', name: 'shared-config' }],
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const WRITES = new Set(['create', 'update', 'patch', 'delete']);

/** The newest cluster-mgr write (create/update/patch/delete) in audit logs, read incrementally from `offsets`. */
async function lastWrite(files: readonly string[], offsets: Map<string, number>, seen: number): Promise<number> {
  let last = seen;
  for (const file of files) {
    const start = offsets.get(file) ?? 0;
    let read = start;
    const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8', start }), crlfDelay: Infinity });
    for await (const line of lines) {
      read += Buffer.byteLength(line) + 1;
      if (!line.includes(`"userAgent":"${USER_AGENT}"`)) continue;
      const e = JSON.parse(line) as { verb: string; requestReceivedTimestamp: string };
      if (WRITES.has(e.verb)) last = Math.max(last, Date.parse(e.requestReceivedTimestamp));
    }
    offsets.set(file, read);
  }
  return last;
}

/** Every app's replicas run Ready where cluster-mgr assigned them. */
function allReady(d: Running): boolean {
  const st = d.daemon.state() as { apps: { desired: number; running: Record<string, { replicas: number; ready: number }> }[] };
  return st.apps.every((a) => Object.values(a.running).reduce((s, r) => s + r.ready, 0) >= a.desired);
}

export async function steadyStateReal(o: SteadyOptions = {}): Promise<SteadyState> {
  const apps = o.apps ?? 500;
  const nMembers = o.members ?? 3;
  const windowMs = o.windowMs ?? 60_000;
  const settleMs = o.settleMs ?? 15_000;
  const namespaces = 10;
  const dir = mkdtempSync(join(tmpdir(), 'cm-steady-'));
  writeFileSync(join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
  const names = Array.from({ length: nMembers }, (_, i) => `steady-${String.fromCharCode(97 + i)}`);
  const audit = (name: string) => join(dir, `${name}.audit.log`);
  let cps: ControlPlane[] = [];
  let d: Running | undefined;
  let ok = false;
  try {
    cps = await startControlPlanes(
      names.map((name) => ({
        name,
        // Room for every app on any member (the spread still splits them by capacity).
        nodes: [1, 2].map((w) => ({ name: `${name}-w${w}`, cpu: '32', memory: '64Gi', pods: 400 })),
        apiserverArgs: [`--audit-policy-file=${join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${audit(name)}`, '--audit-log-format=json', '--audit-log-maxsize=0'],
      })),
    );
    for (const c of cps) {
      writeFileSync(join(dir, `${c.name}.token`), c.adminToken, { mode: 0o600 });
      writeFileSync(join(dir, `${c.name}.kubeconfig`), labKubeconfig({ name: c.name, server: c.server, caPem: c.caPem, tokenFile: join(dir, `${c.name}.token`) }), { mode: 0o600 });
    }
    // The propagated ConfigMap, one per namespace, in the source member (the first).
    const src = cps[0]!;
    for (let n = 0; n < namespaces; n++) {
      const ns = `steady-${n}`;
      await src.api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      await src.api('POST', `/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared-config' }, data: { v: '1' } });
    }
    const file = join(dir, 'federation.yaml');
    writeFileSync(
      file,
      stringify({
        apiVersion: 'flotilla.dev/v1alpha1',
        kind: 'Federation',
        metadata: { name: 'steady-real' },
        spec: {
          members: cps.map((c) => ({ name: c.name, kubeconfig: `./${c.name}.kubeconfig` })),
          // The default interval (1 s: 60 probes a minute per member); a probe timeout above the
          // default 800 ms so that members do not flap while 500 apps start on a loaded machine.
          health: { interval: '1s', timeout: '3s' },
          apps: Array.from({ length: apps }, (_, i) => appDoc(i, namespaces)),
        },
      }),
    );
    const fed = await loadFederation(file);
    if (!fed.ok) throw new Error(`steady-real federation invalid: ${JSON.stringify(fed.errors.slice(0, 3))}`);
    const log = pino({ level: 'info' }, pino.destination({ dest: join(dir, 'cluster-mgr.log'), sync: false, append: true }));
    const t0 = Date.now();
    d = await runDaemon({ federation: fed.value, configFile: file, apps: fed.value.spec.apps, listen: { host: '127.0.0.1', port: 0 }, log });
    const deadline = t0 + (o.startupTimeoutMs ?? 1_200_000);
    for (let i = 0; !allReady(d); i++) {
      if (Date.now() > deadline) throw new Error(`steady-real: not every app ran Ready within ${o.startupTimeoutMs ?? 1_200_000} ms (log: ${join(dir, 'cluster-mgr.log')})`);
      await sleep(500);
    }
    const startedAt = Date.now();
    const members = [...(d.daemon['o'].members as ReadonlyMap<string, unknown>).values()].filter((m): m is KubeMember => m instanceof KubeMember);
    const listsAtStart = members.reduce((s, m) => s + m.lists(), 0);
    // Settled: cluster-mgr has written nothing on any member for settleMs (pods Ready is not enough:
    // copies for members with a 0-replica share may still be on their way).
    const offsets = new Map<string, number>();
    let last = startedAt;
    for (;;) {
      last = await lastWrite(names.map(audit), offsets, last);
      if (Date.now() - last >= settleMs) break;
      if (Date.now() > deadline) throw new Error(`steady-real: cluster-mgr still writing ${o.startupTimeoutMs ?? 1_200_000} ms after start (log: ${join(dir, 'cluster-mgr.log')})`);
      await sleep(1000);
    }
    const settledAt = Date.now();
    const from = Date.now();
    await sleep(windowMs);
    const to = Date.now();
    const informerListsAfterStartup = members.reduce((s, m) => s + m.lists(), 0) - listsAtStart;
    await d.stop();
    d = undefined;
    const loads: MemberLoad[] = [];
    for (const name of names) {
      const c = await countRequests(audit(name), from, to, startedAt);
      loads.push({ member: name, perMinute: (c.total * 60_000) / (to - from), byVerb: c.byVerb, listsAfterStartup: c.lists });
    }
    ok = true;
    return {
      apps,
      windowMs: to - from,
      startupMs: startedAt - t0,
      settleMs: settledAt - startedAt,
      members: loads,
      listsAfterStartup: loads.reduce((s, m) => s + m.listsAfterStartup, 0),
      informerListsAfterStartup,
      dir,
    };
  } finally {
    await d?.stop();
    await Promise.all(cps.map((c) => c.stop()));
    if (ok && !o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** Bench rows for a measurement (also used by the failover-real bench). */
export function steadyRows(s: SteadyState): BenchResult[] {
  const max = Math.max(...s.members.map((m) => m.perMinute));
  const per = s.members.map((m) => `${m.member} ${m.perMinute.toFixed(1)}/min (${Object.entries(m.byVerb).map(([v, n]) => `${v} ${n}`).join(', ')})`).join('; ');
  return [
    {
      name: `steady-real: API requests/min per member, ${s.apps} apps (max)`,
      value: max,
      unit: 'req/min',
      detail: `over ${(s.windowMs / 1000).toFixed(0)} s after start-up (${(s.startupMs / 1000).toFixed(0)} s to every app Ready, ${(s.settleMs / 1000).toFixed(0)} s more until no write for 15 s): ${per}; probes alone are 60/min at health.interval 1 s`,
    },
    {
      name: 'steady-real: LISTs after start-up (relists)',
      value: s.listsAfterStartup,
      unit: 'lists',
      target: '0',
      ok: s.listsAfterStartup === 0 && s.informerListsAfterStartup === 0,
      detail: `audit logs of every member; the informers' own count: ${s.informerListsAfterStartup}`,
    },
  ];
}

export default async function bench(): Promise<BenchResult[]> {
  const assets = k8sAssets();
  if (!assets.ok) return [{ name: 'steady-real', value: 0, unit: 'req/min', detail: `skipped: ${assets.message.split('\n')[0]} (run scripts/setup)` }];
  return steadyRows(await steadyStateReal({ keep: process.env.STEADY_REAL_KEEP === '1' }));
}
