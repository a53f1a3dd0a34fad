// cluster-mgr on REAL control planes (etcd, kube-apiserver, controller-manager, scheduler, kwok
// nodes from the lab) — issue 11 items 1, 2, 3 and 6:
//   - three members with 3 tainted masters + 2 tainted edge nodes + workers: the example app spreads
//     by the workers' room only;
//   - a member filled (higher-priority pods preempt the app's) until its pods go Pending: the share
//     moves within one pass, the rest is unschedulable with the scheduler's message, the alert fires;
//   - a 401 from a member (its token file rewritten): AuthFailed, its own alert, no failover.
// The stuck-pod failover/failback case (readyTimeout) lives with the other failover cases in
// failover.real.test.ts (cluster-mgr as a process, a real front HAProxy).
// cluster-mgr runs in this process (runDaemon) against the members' kubeconfigs (token files).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFederation } from '../../cluster-mgr/config/index';
import { runDaemon, type Running } from '../../cluster-mgr/daemon/main';
import { EXAMPLE_APP } from '../../cluster-mgr/sim/index';
import { deploymentTemplate } from './app-doc';
import { k8sAssets, labKubeconfig, requireK8s, startControlPlanes, waitFor, type ControlPlane, type LabNodeSpec } from '../lab';

const MASTER = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' as const };
const EDGE = { key: 'node-role.kubernetes.io/edge', effect: 'NoSchedule' as const };
const FILL = { key: 'pool', value: 'fill', effect: 'NoSchedule' as const };

/** 3 masters + 2 edge nodes (8 CPU each, tainted as synthesized) + the given workers (+ a tainted "fill" pool node). */
function nodes(workers: number[], fillPool: boolean): LabNodeSpec[] {
  const out: LabNodeSpec[] = [];
  for (let i = 1; i <= 3; i++) out.push({ name: `master-${i}`, cpu: '8', memory: '16Gi', taints: [MASTER], labels: { 'node-role.kubernetes.io/control-plane': '' } });
  for (let i = 1; i <= 2; i++) out.push({ name: `edge-${i}`, cpu: '8', memory: '16Gi', taints: [EDGE], labels: { 'node-role.kubernetes.io/edge': '' } });
  workers.forEach((cpu, i) => out.push({ name: `worker-${i + 1}`, cpu: String(cpu), memory: '32Gi' }));
  if (fillPool) out.push({ name: 'fill-1', cpu: '4', memory: '32Gi', taints: [FILL], labels: { pool: 'fill' } });
  return out;
}

// Worker room for the example app (500m each): a 16, b 8, c 4 — masters and edge nodes would add 80 each.
const SPECS = [
  { name: 'mgr-a', nodes: nodes([4, 4], true) },
  { name: 'mgr-b', nodes: nodes([4], true) },
  { name: 'mgr-c', nodes: nodes([2], false) },
];
const NAMES = SPECS.map((s) => s.name);

let cps: ControlPlane[] = [];
let dir = '';
const tokenFile = (name: string) => join(dir, `${name}.token`);

beforeAll(async () => {
  if (!k8sAssets().ok) return;
  dir = mkdtempSync(join(tmpdir(), 'cm-sched-real-'));
  cps = await startControlPlanes(SPECS);
  for (const cp of cps) {
    writeFileSync(tokenFile(cp.name), cp.adminToken, { mode: 0o600 });
    writeFileSync(join(dir, `${cp.name}.kubeconfig`), labKubeconfig({ name: cp.name, server: cp.server, caPem: cp.caPem, tokenFile: tokenFile(cp.name) }), { mode: 0o600 });
  }
}, 180_000);

afterAll(async () => {
  await Promise.all(cps.map((cp) => cp.stop()));
});

const cp = (name: string) => cps.find((c) => c.name === name)!;

interface ApiState {
  clusters: { name: string; health: string; traffic: { state: string; weight: number; phase: string } }[];
  apps: { key: string; assignments: Record<string, number>; unschedulable: number; unschedulableReason: string | null; reasons: Record<string, string> }[];
  alerts: { name: string; labels: Record<string, string>; summary: string }[];
  events: { type: string; member?: string; message: string }[];
  failovers: { member: string; degraded?: string; replicasReadyAt?: string }[];
}

async function state(d: Running): Promise<ApiState> {
  const r = await fetch(`${d.url}/api/state`, { signal: AbortSignal.timeout(5000) });
  return (await r.json()) as ApiState;
}

/** cluster-mgr in this process over the three members, with these apps and health settings. */
async function startCm(apps: unknown[], health: Record<string, unknown> = {}): Promise<Running> {
  const doc = {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Federation',
    metadata: { name: 'sched-real' },
    spec: {
      members: NAMES.map((n) => ({ name: n, kubeconfig: `./${n}.kubeconfig` })),
      health: { interval: '500ms', timeout: '1s', failureThreshold: 3, successThreshold: 2, failbackAfter: '2s', failbackSteps: 1, ...health },
      apps,
    },
  };
  const file = join(dir, `federation-${Date.now()}.yaml`);
  writeFileSync(file, stringify(doc));
  const fed = await loadFederation(file);
  if (!fed.ok) throw new Error(JSON.stringify(fed.errors));
  const log = pino({ level: 'info' }, pino.destination({ dest: join(dir, 'cluster-mgr.log'), sync: true, append: true }));
  return runDaemon({ federation: fed.value, configFile: file, apps: fed.value.spec.apps, listen: { host: '127.0.0.1', port: 0 }, log });
}

async function deploymentReplicas(member: string, ns: string, name: string): Promise<number | undefined> {
  const r = await cp(member).api<{ spec?: { replicas?: number } }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
  return r.status === 200 ? r.body.spec?.replicas : undefined;
}

async function readyPods(member: string, ns: string): Promise<number> {
  const r = await cp(member).api<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>('GET', `/api/v1/namespaces/${ns}/pods`);
  return r.body.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
}

const app = (name: string, namespace: string, replicas: number, podSpec: Record<string, unknown>, placement: Record<string, unknown> = {}, annotations?: Record<string, string>) => ({
  name,
  namespace,
  replicas,
  template: deploymentTemplate(name, { containers: [{ name, image: 'registry.example.com/apps/x:1' }], ...podSpec }, annotations),
  placement: { spread: 'capacity', ...placement },
});

describe('cluster-mgr on real control planes: scheduling-aware capacity, Pending, AuthFailed', () => {
  it('the example app spreads by the workers\' room only (tainted masters and edge nodes do not count)', async (ctx) => {
    requireK8s(ctx);
    const d = await startCm([{ ...EXAMPLE_APP, replicas: 14, propagate: [] }]);
    try {
      // Workers: 16/8/4 replicas of 500m → 8/4/2. Counting the 5 tainted 8-CPU nodes would give ≈ 5/5/4.
      await waitFor(async () => {
        const r = await Promise.all(NAMES.map((n) => deploymentReplicas(n, 'shop', 'web')));
        return r.join('/') === '8/4/2' || undefined;
      }, { timeoutMs: 30_000, what: 'shop/web split 8/4/2 by the workers\' room' });
      // The real scheduler agrees: every replica is placed and Ready on a worker.
      await waitFor(async () => ((await Promise.all(NAMES.map((n) => readyPods(n, 'shop')))).join('/') === '8/4/2') || undefined, { timeoutMs: 30_000, what: 'pods Ready 8/4/2' });
      const pods = await cp('mgr-a').api<{ items: { spec: { nodeName?: string } }[] }>('GET', '/api/v1/namespaces/shop/pods');
      expect(new Set(pods.body.items.map((p) => p.spec.nodeName))).toEqual(new Set(['worker-1', 'worker-2']));
      const s = await state(d);
      expect(s.apps.find((a) => a.key === 'shop/web')).toMatchObject({ unschedulable: 0 });
    } finally {
      await d.stop();
    }
  }, 120_000);

  it('a member filled until pods go Pending: the share moves within one pass, the rest is unschedulable with the scheduler\'s reason, the alert fires', async (ctx) => {
    requireK8s(ctx);
    // 6 × 1 CPU on the 4-CPU fill pool of mgr-a and mgr-b (tolerations + nodeSelector): 3/3.
    const pool = { tolerations: [{ key: 'pool', operator: 'Equal', value: 'fill', effect: 'NoSchedule' }], nodeSelector: { pool: 'fill' } };
    const batch = app('batch', 'batch', 6, { ...pool, containers: [{ name: 'batch', image: 'registry.example.com/batch:1', resources: { requests: { cpu: '1', memory: '1Gi' } } }] }, { clusters: ['mgr-a', 'mgr-b'] });
    const d = await startCm([batch]);
    try {
      await waitFor(async () => ((await readyPods('mgr-a', 'batch')) === 3 && (await readyPods('mgr-b', 'batch')) === 3) || undefined, { timeoutMs: 30_000, what: 'batch 3/3 Ready' });
      // Fill mgr-a: three 1-CPU pods of a higher priority preempt two of batch's; the ReplicaSet's
      // replacements stay Pending (Unschedulable: Insufficient cpu).
      const a = cp('mgr-a');
      expect((await a.api('POST', '/apis/scheduling.k8s.io/v1/priorityclasses', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'lab-filler' }, value: 1_000_000 })).status).toBe(201);
      await a.api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'filler' } });
      for (let i = 0; i < 3; i++) {
        const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `filler-${i}`, namespace: 'filler' }, spec: { ...pool, priorityClassName: 'lab-filler', containers: [{ name: 'f', image: 'x', resources: { requests: { cpu: '1', memory: '1Gi' } } }] } };
        expect((await a.api('POST', '/api/v1/namespaces/filler/pods', pod)).status).toBe(201);
      }
      const pendingSeen = await waitFor(async () => {
        const r = await a.api<{ items: { status?: { conditions?: { type: string; reason?: string; message?: string }[] } }[] }>('GET', '/api/v1/namespaces/batch/pods');
        const msgs = r.body.items.flatMap((p) => p.status?.conditions?.filter((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable').map((c) => c.message ?? '') ?? []);
        return msgs.length > 0 ? { at: Date.now(), message: msgs[0]! } : undefined;
      }, { timeoutMs: 30_000, what: 'batch pods Pending (Unschedulable) on mgr-a' });
      // One pass: mgr-a keeps what runs (1), mgr-b takes what fits there (4); 1 is unschedulable.
      await waitFor(async () => ((await deploymentReplicas('mgr-a', 'batch', 'batch')) === 1 && (await deploymentReplicas('mgr-b', 'batch', 'batch')) === 4) || undefined, {
        timeoutMs: 5_000,
        what: 'the Pending share moved: mgr-a 1, mgr-b 4',
      });
      const movedMs = Date.now() - pendingSeen.at;
      expect(movedMs).toBeLessThan(3_000); // one pass (informer event → reconcile), with room for a loaded machine
      const s = await waitFor(async () => {
        const st = await state(d);
        return st.alerts.some((x) => x.name === 'FederationReplicasUnschedulable' && x.labels.app === 'batch') ? st : undefined;
      }, { timeoutMs: 5_000, what: 'FederationReplicasUnschedulable firing' });
      const entry = s.apps.find((x) => x.key === 'batch/batch')!;
      expect(entry.unschedulable).toBe(1);
      expect(entry.unschedulableReason).toContain('scheduler on mgr-a:');
      expect(entry.unschedulableReason).toMatch(/Insufficient cpu/);
      await waitFor(async () => ((await readyPods('mgr-b', 'batch')) === 4) || undefined, { timeoutMs: 15_000, what: 'batch 4 Ready on mgr-b' });
    } finally {
      await d.stop();
    }
  }, 150_000);

  it('401 from a member: AuthFailed with its own alert, no failover; credentials back → Healthy', async (ctx) => {
    requireK8s(ctx);
    const d = await startCm([app('auth', 'auth', 3, { containers: [{ name: 'auth', image: 'x', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] })]);
    try {
      const before = await waitFor(async () => {
        const r = await Promise.all(NAMES.map((n) => deploymentReplicas(n, 'auth', 'auth')));
        return r.every((x) => x !== undefined) && r.reduce((s, x) => s! + x!, 0) === 3 ? r : undefined;
      }, { timeoutMs: 30_000, what: 'auth app placed' });
      writeFileSync(tokenFile('mgr-c'), 'wrong-token'); // every request re-reads the token file
      const s = await waitFor(async () => {
        const st = await state(d);
        return st.clusters.find((c) => c.name === 'mgr-c')?.health === 'AuthFailed' && st.alerts.some((x) => x.name === 'FederationMemberAuthFailed' && x.labels.member === 'mgr-c') ? st : undefined;
      }, { timeoutMs: 10_000, what: 'mgr-c AuthFailed with FederationMemberAuthFailed' });
      // Hold for several failureThreshold windows: never Unhealthy, traffic kept, replicas unchanged.
      const until = Date.now() + 3_000;
      await waitFor(async () => {
        const st = await state(d);
        expect(st.clusters.find((c) => c.name === 'mgr-c')!.health).toBe('AuthFailed');
        return Date.now() >= until || undefined;
      }, { timeoutMs: 10_000, intervalMs: 250, what: '3 s of AuthFailed' });
      const after = await state(d);
      expect(after.events.some((e) => e.type === 'member-unhealthy' || e.type === 'failover')).toBe(false);
      expect(after.failovers).toEqual([]);
      expect(after.clusters.find((c) => c.name === 'mgr-c')!.traffic).toMatchObject({ state: 'ready', weight: 256 });
      expect(await Promise.all(NAMES.map((n) => deploymentReplicas(n, 'auth', 'auth')))).toEqual(before);
      expect(after.apps.find((x) => x.key === 'auth/auth')!.reasons['mgr-c']).toMatch(/^auth failed/);
      expect(s.clusters.find((c) => c.name === 'mgr-c')!.health).toBe('AuthFailed');
      writeFileSync(tokenFile('mgr-c'), cp('mgr-c').adminToken);
      await waitFor(async () => {
        const st = await state(d);
        return (st.clusters.find((c) => c.name === 'mgr-c')?.health === 'Healthy' && !st.alerts.some((x) => x.name === 'FederationMemberAuthFailed')) || undefined;
      }, { timeoutMs: 10_000, what: 'mgr-c Healthy again, alert resolved' });
    } finally {
      writeFileSync(tokenFile('mgr-c'), cp('mgr-c').adminToken);
      await d.stop();
    }
  }, 120_000);
});
