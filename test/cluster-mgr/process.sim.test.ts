// cluster-mgr as real processes against the simulator: kill -9 mid-reconcile then restart,
// two processes with Lease leader election, SIGTERM drain + lease release.
import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon as Proc } from '../lab/daemon';
import { waitFor } from '../lab/wait';
import { EXAMPLE_APP, getState, startChild, startEnv, type Env } from './harness';

const health = { interval: '500ms', timeout: '400ms', failureThreshold: 3, successThreshold: 2, failbackAfter: '2s' };
let env: Env | undefined;
const procs: Proc[] = [];

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop(2000)));
  await env?.sim.stop();
  env = undefined;
});

/** N copies of the example app (distinct names), each with `replicas`. */
function manyApps(n: number, replicas: number) {
  return Array.from({ length: n }, (_, i) => ({
    ...EXAMPLE_APP,
    name: `app-${i}`,
    replicas,
    propagate: [],
    template: { ...EXAMPLE_APP.template, metadata: { name: `app-${i}` } },
  }));
}

describe('cluster-mgr processes', () => {
  it('kill -9 mid-reconcile, then restart: converges with no duplicate or missing Deployments', async () => {
    const N = 40;
    // The simulator (one process for all members) stalls ~0.5 s under the initial burst of 120
    // Deployments; probes get 1 s here so that the test is about convergence, not detection.
    env = await startEnv({ names: ['sim-1', 'sim-2', 'sim-3'], nodesPerMember: 6 }, { health: { ...health, interval: '1s', timeout: '1s' }, apps: manyApps(N, 3) });
    const a = await startChild(env, 'cm-a');
    procs.push(a.proc);
    // kill as soon as it has written some, but not all, Deployments
    await waitFor(() => (a.proc.logs().match(/"applied deployment"/g)?.length ?? 0) >= 3, { timeoutMs: 20_000, intervalMs: 5, what: 'first writes' });
    a.proc.signal('SIGKILL');
    await a.proc.exited;
    const written = env.sim.members.reduce((s, m) => s + env!.sim.member(m.name).list('Deployment', 'shop').length, 0);
    expect(written).toBeLessThan(N * 3); // really mid-reconcile
    const b = await startChild(env, 'cm-b');
    procs.push(b.proc);
    await waitFor(
      () =>
        Array.from({ length: N }, (_, i) => `app-${i}`).every((name) => {
          const deps = env!.sim.members.map((m) => env!.sim.member(m.name).get('Deployment', 'shop', name));
          return deps.every((d) => d) && deps.reduce((s, d) => s + (d!.spec.replicas as number), 0) === 3;
        }),
      { timeoutMs: 30_000, what: 'every app has one Deployment per member and 3 replicas in total' },
    );
    for (const m of env.sim.members) {
      const deps = env.sim.member(m.name).list('Deployment', 'shop');
      const names = deps.map((d) => d.metadata.name as string);
      expect(new Set(names).size).toBe(names.length);
      expect(names.sort()).toEqual(Array.from({ length: N }, (_, i) => `app-${i}`).sort());
    }
    await waitFor(() => env!.sim.members.reduce((s, m) => s + env!.sim.member(m.name).readyPods('shop'), 0) === N * 3, { timeoutMs: 20_000, what: 'exactly N × 3 ready pods' });
  });

  it('two processes: exactly one leader; the standby takes over when the leader dies; SIGTERM releases the lease and exits 0', async () => {
    env = await startEnv(
      { names: ['sim-1', 'sim-2'] },
      { health, leaderElection: { namespace: 'flotilla-system', leaseName: 'cluster-mgr', leaseDuration: '2s', renewDeadline: '1500ms', retryPeriod: '300ms' } },
    );
    const a = await startChild(env, 'cm-1');
    procs.push(a.proc);
    const b = await startChild(env, 'cm-2');
    procs.push(b.proc);
    const leaders = async () => [(await getState(a.url)).leader, (await getState(b.url)).leader];
    await waitFor(async () => (await leaders()).filter(Boolean).length === 1, { timeoutMs: 10_000, what: 'one leader' });
    // stays exactly one over a few renew periods
    for (let i = 0; i < 10; i++) {
      expect((await leaders()).filter(Boolean)).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 200));
    }
    const lease = () => env!.sim.member('sim-1').get('Lease', 'flotilla-system', 'cluster-mgr');
    expect(lease()?.spec.holderIdentity).toBeTruthy();
    const [aLeads] = await leaders();
    const [leader, standby] = aLeads ? [a, b] : [b, a];
    const t0 = performance.now();
    leader.proc.signal('SIGKILL');
    await leader.proc.exited;
    await waitFor(async () => (await getState(standby.url)).leader, { timeoutMs: 10_000, what: 'standby takes over' });
    const takeoverMs = performance.now() - t0;
    expect(takeoverMs).toBeLessThan(2000 + 1500 + 1000); // leaseDuration + retry + slack
    // Not before the lease expired: leaseDuration after the leader's last renewal, which was at most
    // one retryPeriod (+ a request) before the kill. Earlier would mean two leaders were possible.
    expect(takeoverMs).toBeGreaterThanOrEqual(2000 - 300 - 100);
    // only the leader writes: the new leader keeps the app placed
    await waitFor(() => env!.sim.members.every((m) => env!.sim.member(m.name).get('Deployment', 'shop', 'web')), { timeoutMs: 10_000, what: 'Deployments on every member' });
    // SIGTERM: drains, releases the lease (holder cleared), exits 0
    standby.proc.signal('SIGTERM');
    const exit = await standby.proc.exited;
    expect(exit.code).toBe(0);
    expect(lease()?.spec.holderIdentity).toBe('');
    expect(standby.proc.logs()).toMatch(/released the lease/);
  });
});
