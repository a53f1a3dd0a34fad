// cluster-mgr against simulated member clusters: capacity spread, propagation, failover per fault
// mode, failback, flapping, API errors.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../cluster-mgr/daemon/main';
import type { FaultMode } from '../../cluster-mgr/sim/index';
import { waitFor } from '../lab/wait';
import { deploymentReplicas, getState, readyPods, startEnv, startInProcess, sum, type Env } from './harness';

// sim-1: 3 nodes × 4 cpu = 12 cpu; sim-2: 3 nodes × 2 cpu = 6 cpu. The example app asks 500m/512Mi × 6.
const INTERVAL_MS = 500;
const FAILURE_THRESHOLD = 3;
const health = { interval: `${INTERVAL_MS}ms`, timeout: '400ms', requestTimeout: '1500ms', failureThreshold: FAILURE_THRESHOLD, successThreshold: 2, failbackAfter: '2s', failbackSteps: 2 };

let env: Env;
let cm: Running;

beforeAll(async () => {
  env = await startEnv({ names: ['sim-1', 'sim-2'], perMember: { 'sim-2': { nodeCpu: '2' } }, slowMs: 3000 }, { health });
  const src = env.sim.member('sim-1');
  src.store.create(src.resource('Secret'), { metadata: { name: 'web-tls', namespace: 'shop' }, type: 'Opaque', data: { 'tls.key': Buffer.from('not-a-real-key').toString('base64') } }, 'shop', { manager: 'test' });
  src.store.create(
    src.resource('PersistentVolumeClaim'),
    { metadata: { name: 'web-data', namespace: 'shop' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeName: 'pv-sim-1-0001' } },
    'shop',
    { manager: 'test' },
  );
  const apps = env.federation.spec.apps.map((a) => ({
    ...a,
    propagate: [
      { kind: 'ConfigMap' as const, name: 'web-config' },
      { kind: 'Secret' as const, name: 'web-tls' },
      { kind: 'PersistentVolumeClaim' as const, name: 'web-data' },
    ],
  }));
  env = { ...env, federation: { ...env.federation, spec: { ...env.federation.spec, apps } } };
  cm = await startInProcess(env);
});

afterAll(async () => {
  await cm?.stop();
  await env?.sim.stop();
});

describe('cluster-mgr against the simulator', () => {
  it('spreads the example app by capacity (12 cpu : 6 cpu → 4 : 2) and the pods run', async () => {
    await waitFor(() => {
      const r = readyPods(env.sim);
      return r['sim-1'] === 4 && r['sim-2'] === 2;
    }, { timeoutMs: 15_000, what: '4/2 ready pods' });
    expect(deploymentReplicas(env.sim)).toEqual({ 'sim-1': 4, 'sim-2': 2 });
    const st = await getState(cm.url);
    expect(st.apps[0]).toMatchObject({ key: 'shop/web', desired: 6, assignments: { 'sim-1': 4, 'sim-2': 2 }, unschedulable: 0 });
    const d = env.sim.member('sim-2').get('Deployment', 'shop', 'web')!;
    expect(d.metadata.labels['app.kubernetes.io/managed-by']).toBe('cluster-mgr');
    expect((d.metadata.managedFields as { manager: string; operation: string }[]).some((f) => f.manager === 'cluster-mgr' && f.operation === 'Apply')).toBe(true);
  });

  it('propagates the ConfigMap, Secret and PVC to every member it runs in', async () => {
    const m2 = env.sim.member('sim-2');
    await waitFor(() => m2.get('ConfigMap', 'shop', 'web-config') && m2.get('Secret', 'shop', 'web-tls') && m2.get('PersistentVolumeClaim', 'shop', 'web-data'), {
      timeoutMs: 10_000,
      what: 'propagated objects on sim-2',
    });
    expect(m2.get('ConfigMap', 'shop', 'web-config')!.data).toEqual({ 'greeting.txt': 'hello from the federation source\n' });
    expect(m2.get('Secret', 'shop', 'web-tls')!.data['tls.key']).toBe(Buffer.from('not-a-real-key').toString('base64'));
    const pvc = m2.get('PersistentVolumeClaim', 'shop', 'web-data')!;
    expect(pvc.spec.volumeName).not.toBe('pv-sim-1-0001'); // the source's PV binding is not copied
    expect(pvc.spec.resources.requests.storage).toBe('1Gi');
  });

  it('serves /healthz, /readyz, /metrics', async () => {
    expect((await fetch(`${cm.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${cm.url}/readyz`)).status).toBe(200);
    const m = await (await fetch(`${cm.url}/metrics`)).text();
    expect(m).toMatch(/cluster_mgr_member_healthy\{member="sim-2"\} 1/);
    expect(m).toMatch(/cluster_mgr_assigned_replicas\{app="shop\/web",member="sim-1"\} 4/);
    expect(m).toMatch(/cluster_mgr_reconcile_duration_seconds_count \d+/);
  });

  const modes: FaultMode[] = ['down', 'hang', 'slow', '5xx', 'partition'];
  it.each(modes)('fault %s: Unhealthy within interval × failureThreshold + 1 s, replicas run elsewhere within 5 s, then fail back', async (mode) => {
    const budgetMs = INTERVAL_MS * FAILURE_THRESHOLD + 1000;
    // start from the steady split
    await waitFor(async () => (await getState(cm.url)).clusters.every((c) => c.health === 'Healthy') && readyPods(env.sim)['sim-2'] === 2, { timeoutMs: 20_000, what: 'steady state' });
    const t0 = performance.now();
    await env.sim.setFault('sim-2', mode);
    try {
      await waitFor(async () => (await getState(cm.url)).clusters.find((c) => c.name === 'sim-2')!.health === 'Unhealthy', { timeoutMs: budgetMs + 2000, intervalMs: 25, what: 'sim-2 Unhealthy' });
      const detectMs = performance.now() - t0;
      expect(detectMs).toBeLessThanOrEqual(budgetMs);
      // Not before failureThreshold failed probes, one interval apart (the first may fail right at
      // the fault): flipping earlier would fail over on fewer failures than configured.
      expect(detectMs).toBeGreaterThanOrEqual((FAILURE_THRESHOLD - 1) * INTERVAL_MS - 50);
      const t1 = performance.now();
      await waitFor(() => readyPods(env.sim)['sim-1']! >= 6, { timeoutMs: 7000, intervalMs: 25, what: '6 ready pods on sim-1' });
      expect(performance.now() - t1).toBeLessThanOrEqual(5000);
      const st = await getState(cm.url);
      expect(st.apps[0]!.assignments).toEqual({ 'sim-1': 6, 'sim-2': 0 });
      expect(st.clusters.find((c) => c.name === 'sim-2')!.traffic.state).toBe('drain');
    } finally {
      await env.sim.setFault('sim-2', 'none');
    }
    // recovery: Recovering → Healthy after successThreshold and failbackAfter, replicas return, traffic ramps
    await waitFor(() => readyPods(env.sim)['sim-2'] === 2 && readyPods(env.sim)['sim-1'] === 4, { timeoutMs: 20_000, what: 'failback to 4/2' });
    await waitFor(async () => (await getState(cm.url)).clusters.find((c) => c.name === 'sim-2')!.traffic.weight === 256, { timeoutMs: 10_000, what: 'traffic ramped back' });
    // the PVC survived the failover
    expect(env.sim.member('sim-2').get('PersistentVolumeClaim', 'shop', 'web-data')).toBeDefined();
  });

  it.each([
    ['5xx', 8],
    ['slow', 6],
  ] as const)('API %s during a scale (shorter than detection): backoff, no crash, no lost replicas', async (mode, replicas) => {
    await waitFor(async () => (await getState(cm.url)).clusters.every((c) => c.health === 'Healthy'), { timeoutMs: 20_000, what: 'all Healthy' });
    const before = readFileSync(env.logFile, 'utf8').split('\n').length;
    let minReady = Infinity;
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 400; i++) {
        minReady = Math.min(minReady, sum(readyPods(env.sim)));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const floor = sum(readyPods(env.sim));
    await env.sim.setFault('sim-1', mode);
    cm.daemon.setApps(env.federation.spec.apps.map((a) => ({ ...a, replicas })));
    await new Promise((r) => setTimeout(r, INTERVAL_MS * (FAILURE_THRESHOLD - 1))); // below the failure threshold
    await env.sim.setFault('sim-1', 'none');
    await waitFor(() => sum(readyPods(env.sim)) === replicas && sum(deploymentReplicas(env.sim)) === replicas, { timeoutMs: 15_000, what: `${replicas} replicas converged` });
    sampling = false;
    await sampler;
    expect(minReady).toBeGreaterThanOrEqual(Math.min(floor, replicas));
    const st = await getState(cm.url);
    expect(st.clusters.find((c) => c.name === 'sim-1')!.health).not.toBe('Unhealthy');
    const newLogs = readFileSync(env.logFile, 'utf8').split('\n').slice(before - 1).join('\n');
    expect(newLogs).toMatch(/reconcile failed; backing off/);
    expect((await fetch(`${cm.url}/healthz`)).status).toBe(200);
  });
});
