import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/lab/wait';
import { backoffMs, capacityOf, objectPath, watchTimeoutSeconds } from '../adapters/kube';
import { copyForPropagation } from './index';
import { WorkQueue } from './queue';

describe('WorkQueue', () => {
  // After one failure the key waits out its backoff (here 10 s): what may run it earlier?
  it.each([
    { what: 'a resync while backing off', add: { resync: true }, runsEarly: false },
    { what: 'an event while backing off', add: {}, runsEarly: true },
  ])('$what → runs before the backoff ends: $runsEarly', async ({ add, runsEarly }) => {
    let calls = 0;
    let others = 0;
    const q = new WorkQueue(
      async (key) => {
        if (key === 'other') return void others++;
        calls++;
        if (calls === 1) throw new Error('boom');
      },
      { concurrency: 1, maxBackoffMs: 20_000 },
    );
    q.add('k');
    await waitFor(() => q.backingOff('k'), { timeoutMs: 2000 });
    q.add('k', add);
    q.add('other', add); // a key without backoff always runs
    if (runsEarly) await waitFor(() => calls === 2, { timeoutMs: 2000 });
    else {
      await waitFor(() => others === 1, { timeoutMs: 2000 });
      expect(q.backingOff('k')).toBe(true);
      expect(calls).toBe(1);
    }
    await q.drain();
  });

  it.each([0, 0.5, 0.999])('watch timeout with jitter %s is 5–10 min', (r) => {
    const t = watchTimeoutSeconds(() => r);
    expect(t).toBeGreaterThanOrEqual(300);
    expect(t).toBeLessThan(600);
  });

  it('dedupes queued keys and never runs one key twice at once', async () => {
    const running = new Set<string>();
    let overlap = false;
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue(
      async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        runs.push(key);
        if (runs.length === 1) await gate;
        running.delete(key);
      },
      { concurrency: 1, maxBackoffMs: 100 },
    );
    q.add('a'); // starts, blocks on gate
    q.add('a'); // in flight → marked dirty, runs once more afterwards
    q.add('a');
    q.add('b');
    q.add('b'); // queued twice → once
    expect(q.length).toBe(1);
    release();
    await waitFor(() => runs.filter((k) => k === 'a').length === 2 && runs.includes('b'), { timeoutMs: 2000 });
    await q.drain();
    expect(overlap).toBe(false);
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.filter((k) => k === 'b')).toHaveLength(1);
  });

  it('retries a failing key with backoff and reports each error', async () => {
    let calls = 0;
    const errors: number[] = [];
    const q = new WorkQueue(
      async () => {
        calls++;
        if (calls < 3) throw new Error('boom');
      },
      { concurrency: 1, maxBackoffMs: 50, onError: (_k, _e, wait) => errors.push(wait) },
    );
    q.add('x');
    await waitFor(() => calls === 3, { timeoutMs: 3000 });
    await q.drain();
    expect(errors).toHaveLength(2);
    for (const w of errors) expect(w).toBeLessThanOrEqual(50);
  });

  it('drain waits for in-flight work and then refuses new work', async () => {
    let done = false;
    const q = new WorkQueue(
      async () => {
        await new Promise((r) => setTimeout(r, 100));
        done = true;
      },
      { concurrency: 1, maxBackoffMs: 50 },
    );
    q.add('k');
    await waitFor(() => q.length === 0, { timeoutMs: 1000 });
    await q.drain();
    expect(done).toBe(true);
    q.add('later');
    expect(q.length).toBe(0);
  });
});

describe('adapter helpers', () => {
  it('backoff is capped and jittered within [base/2, base]', () => {
    expect(backoffMs(0, 5000, () => 0)).toBe(100);
    expect(backoffMs(0, 5000, () => 1)).toBe(200);
    expect(backoffMs(3, 5000, () => 1)).toBe(1600);
    expect(backoffMs(30, 5000, () => 1)).toBe(5000);
    expect(backoffMs(30, 5000, () => 0)).toBe(2500);
  });

  it('capacity counts Ready schedulable nodes and non-terminal pods on them', () => {
    const node = (name: string, ready: boolean, unschedulable = false) => ({
      metadata: { name },
      spec: { unschedulable },
      status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    const pod = (nodeName: string | undefined, phase: string, cpu = '500m') => ({ spec: { nodeName, containers: [{ resources: { requests: { cpu, memory: '1Gi' } } }] }, status: { phase } });
    const c = capacityOf(
      [node('a', true), node('b', false), node('c', true, true)],
      [pod('a', 'Running'), pod('a', 'Pending', '1'), pod('a', 'Succeeded'), pod('b', 'Running'), pod(undefined, 'Pending')],
    );
    expect(c.readyNodes).toBe(1);
    expect(c.nodes).toBe(3);
    expect(c.allocatable).toEqual({ cpu: 4, memory: 8 * 1024 ** 3, pods: 110 });
    expect(c.allocated).toEqual({ cpu: 1.5, memory: 2 * 1024 ** 3, pods: 2 });
  });

  it('object paths', () => {
    expect(objectPath('apps/v1', 'Deployment', 'shop', 'web')).toBe('/apis/apps/v1/namespaces/shop/deployments/web');
    expect(objectPath('v1', 'Namespace', 'x', 'shop')).toBe('/api/v1/namespaces/shop');
    expect(objectPath('coordination.k8s.io/v1', 'Lease', 'ns')).toBe('/apis/coordination.k8s.io/v1/namespaces/ns/leases');
  });

  it('propagation copies payload and labels, drops server fields and the PV binding', () => {
    const pvc = copyForPropagation(
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'x', uid: 'u', resourceVersion: '5', annotations: { 'pv.kubernetes.io/bind-completed': 'yes', keep: '1' } }, spec: { volumeName: 'pv-1', accessModes: ['ReadWriteOnce'] }, status: { phase: 'Bound' } },
      'PersistentVolumeClaim',
      'shop',
    );
    expect(pvc).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'shop', labels: { 'flotilla.dev/propagated-by': 'cluster-mgr' }, annotations: { keep: '1' } },
      spec: { accessModes: ['ReadWriteOnce'] },
    });
    const secret = copyForPropagation({ kind: 'Secret', metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { a: 'b' } }, 'Secret', 'shop');
    expect(secret).toMatchObject({ type: 'kubernetes.io/tls', data: { a: 'b' } });
  });
});
