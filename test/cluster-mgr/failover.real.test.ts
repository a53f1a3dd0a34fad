// Failover on REAL control planes (issue 11, "Tests that must exist": Failover). Three lab control
// planes with a kwok worker each, a real front HAProxy and `cluster-mgr run` as a real process
// (test/cluster-mgr/real-federation.ts). Per fault on a member's kube-apiserver — SIGKILL, SIGSTOP,
// and cut off (its address dropped in a network namespace on the connection path):
//   - the member is Unhealthy within interval × failureThreshold + 1 s (the daemon's own event),
//     drained at the front, and every app's replicas are Ready (kwok, Deployment status read from
//     the other API servers) within 5 s of the fault;
//   - healed: Recovering, Healthy only failbackAfter later, replicas back 1:1:1 and ready, then the
//     traffic ramp over failbackAfter to full weight.
// Then `kill -9` of cluster-mgr mid-failover and a restart: every member ends with exactly one
// Deployment per app and the replicas add up. And a stuck pod (kwok never starts it: ImagePullBackOff)
// makes the failover "degraded" but holds failback no longer than readyTimeout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k8sAssets, missingTools, requireK8s, requireTools, waitFor } from '../lab';
import {
  APPS,
  HEALTH,
  READY_DEADLINE_MS,
  UNHEALTHY_DEADLINE_MS,
  eventAt,
  settledAndQuiet,
  startRealFederation,
  timeFailback,
  timeFailover,
  type Fault,
  type RealApp,
  type RealFederation,
} from './real-federation';

const TOOLS = ['haproxy', 'socat'];
let fed: RealFederation | undefined;

beforeAll(async () => {
  if (!k8sAssets().ok || missingTools(TOOLS).length > 0) return; // each test then fails (CI) or skips
  fed = await startRealFederation('fo');
  await fed.startCm();
}, 240_000);

afterAll(async () => {
  await fed?.stop();
}, 60_000);

const guard = (ctx: Parameters<typeof requireK8s>[0]): RealFederation => {
  requireK8s(ctx);
  requireTools(ctx, TOOLS, { root: true });
  return fed!;
};

/** Each case starts from a settled, quiet federation (a failed case before it is not blamed on this one). */
const settledFirst = async (f: RealFederation) => {
  // A case that failed between killing cluster-mgr and restarting it left none running: start one,
  // so that each case stands on its own.
  if (!(f.cm as RealFederation['cm'] | undefined)?.isRunning()) await f.startCm(undefined, { settle: false });
  return settledAndQuiet(f, 60_000);
};

/** Healthy at the first good probe + failbackAfter; then replicas return (paced, ready within readyTimeout), then the ramp. */
const FAILBACK_BOUND_MS = HEALTH.intervalMs * HEALTH.successThreshold + HEALTH.failbackAfterMs + HEALTH.intervalMs * HEALTH.failbackSteps + HEALTH.readyTimeoutMs + HEALTH.failbackAfterMs + 1000;

/** Every member's Deployments in the app namespace, grouped: app name → how many Deployments carry it. */
async function deploymentsPerApp(f: RealFederation, member: string): Promise<{ count: Record<string, number>; replicas: Record<string, number> }> {
  const count: Record<string, number> = {};
  const replicas: Record<string, number> = {};
  for (const d of await f.deployments(member)) {
    const app = d.app ?? `(unlabelled ${d.name})`;
    count[app] = (count[app] ?? 0) + 1;
    replicas[app] = (replicas[app] ?? 0) + d.replicas;
  }
  return { count, replicas };
}

describe('failover on real control planes (cluster-mgr as a process, front HAProxy)', () => {
  const cases: { fault: Fault; member: number; what: string }[] = [
    { fault: 'sigkill', member: 0, what: 'kube-apiserver killed (SIGKILL)' },
    { fault: 'sigstop', member: 1, what: 'kube-apiserver frozen (SIGSTOP)' },
    { fault: 'cut', member: 2, what: 'cut off (its address dropped in the network namespace on the path)' },
  ];
  for (const c of cases) {
    it(`${c.what}: Unhealthy within interval × failureThreshold + 1 s, replicas Ready elsewhere within 5 s; healed: recovery and failback after failbackAfter`, async (ctx) => {
      const f = guard(ctx);
      const victim = f.names[c.member]!;
      if (c.fault === 'cut') expect(victim).toBe(f.cutMember);
      await settledFirst(f);
      try {
        const t = await timeFailover(f, victim, c.fault);
        console.log(`${c.fault} ${victim}: Unhealthy ${t.unhealthyMs} ms, drained at the front ${t.drainedMs} ms, replicas ready elsewhere ${t.readyMs} ms after the fault`);
        expect(t.unhealthyMs).toBeLessThanOrEqual(UNHEALTHY_DEADLINE_MS);
        expect(t.readyMs).toBeLessThanOrEqual(READY_DEADLINE_MS);
        // Not before failureThreshold probes (the first can land right at the fault).
        expect(t.unhealthyMs).toBeGreaterThanOrEqual((HEALTH.failureThreshold - 1) * HEALTH.intervalMs - 50);
        expect(t.drainedMs).toBeGreaterThanOrEqual(t.unhealthyMs - 50); // traffic follows the verdict
        const s = await f.state();
        expect(s.clusters.find((x) => x.name === victim)).toMatchObject({ health: 'Unhealthy', traffic: { phase: 'drained' } });
        expect((await f.front())[victim]?.state).toBe('drain');
        // The others carry everything, one Deployment per app each.
        for (const other of f.names.filter((n) => n !== victim)) {
          expect((await deploymentsPerApp(f, other)).count).toEqual(Object.fromEntries(APPS.map((a) => [a.name, 1])));
        }
        const fo = await waitFor(async () => (await f.state()).failovers.find((x) => x.member === victim && x.replicasReadyAt), { timeoutMs: 10_000, what: `${victim}'s failover recorded as done` });
        expect(fo.degraded).toBeUndefined();

        const b = await timeFailback(f, victim, c.fault);
        console.log(
          `${c.fault} ${victim} healed: Recovering after ${b.recoveringMs} ms, Healthy ${b.recoveredAfterMs} ms later, full weight ${b.rampMs} ms after that; settled ${b.settledMs} ms after the heal`,
        );
        // Healthy only failbackAfter after the first good probe, and the ramp spreads over failbackAfter.
        expect(b.recoveredAfterMs).toBeGreaterThanOrEqual(HEALTH.failbackAfterMs);
        expect(b.rampMs).toBeGreaterThanOrEqual(HEALTH.failbackAfterMs - 100);
        expect(b.settledMs).toBeLessThanOrEqual(FAILBACK_BOUND_MS);
      } finally {
        await f.heal(c.fault, victim).catch(() => undefined);
      }
    }, 120_000);
  }

  it('kill -9 of cluster-mgr mid-failover, restarted: no duplicate or missing Deployments, the replicas add up', async (ctx) => {
    const f = guard(ctx);
    // Cut off rather than killed: a member's own controllers back off for up to 30 s after their API
    // server died twice within two minutes (client-go), which would only slow the failback down here.
    const victim = f.cutMember;
    const others = f.names.filter((n) => n !== victim);
    await settledFirst(f);
    try {
      const faultAt = Date.now();
      // The replicas moved to the others cannot turn Ready while their kwok is paused, so the kill
      // below lands mid-failover however fast this machine is (in one CI run the failover had
      // finished by the time the test saw it start).
      f.holdPods(others, true);
      await f.inject('cut', victim);
      // The failover has begun (drained, replicas moving) …
      await waitFor(async () => eventAt(await f.state(), 'failover', victim, faultAt), { timeoutMs: 20_000, intervalMs: 20, what: `${victim}'s failover started` });
      await f.killCm();
      // … and not finished: the replicas are not yet ready elsewhere when cluster-mgr dies.
      expect(await f.readyElsewhere(victim)).toBe(false);
      f.holdPods(others, false);
      await f.startCm(undefined, { settle: false });
      // The restarted process must see the fault itself before the heal: the replicas the killed one
      // already moved can be Ready sooner than its failureThreshold probes, and a heal before that
      // would leave it nothing to recover from (no member-recovering/recovered to wait for).
      await waitFor(async () => (await f.state()).clusters.find((c) => c.name === victim)?.health === 'Unhealthy', { timeoutMs: 20_000, intervalMs: 50, what: `the restarted cluster-mgr sees ${victim} Unhealthy` });
      await waitFor(() => f.readyElsewhere(victim), { timeoutMs: 30_000, intervalMs: 100, what: `replicas ready away from ${victim} after the restart` });
      for (const n of others) expect((await deploymentsPerApp(f, n)).count).toEqual(Object.fromEntries(APPS.map((a) => [a.name, 1])));
      const sums = await Promise.all(others.map((n) => deploymentsPerApp(f, n)));
      for (const a of APPS) expect(sums.reduce((x, s) => x + (s.replicas[a.name] ?? 0), 0)).toBe(a.replicas);

      await timeFailback(f, victim, 'cut');
      // Back 1:1:1: each member exactly one Deployment per app, replicas summing to the desired count.
      const all = await Promise.all(f.names.map((n) => deploymentsPerApp(f, n)));
      for (const s of all) expect(s.count).toEqual(Object.fromEntries(APPS.map((a) => [a.name, 1])));
      for (const a of APPS) expect(all.reduce((x, s) => x + (s.replicas[a.name] ?? 0), 0)).toBe(a.replicas);
    } finally {
      f.holdPods(others, false);
      await f.heal('cut', victim).catch(() => undefined);
    }
  }, 240_000);

  it('a stuck pod (kwok never starts it): the failover completes degraded naming ImagePullBackOff and does not hold failback past readyTimeout', async (ctx) => {
    const f = guard(ctx);
    const stuck: RealApp = { name: 'stuck', replicas: 3, stuck: true };
    await settledFirst(f);
    await f.startCm([...APPS, stuck]);
    await settledFirst(f);
    const victim = f.names[1]!;
    try {
      const faultAt = Date.now();
      await f.inject('sigstop', victim);
      // The stuck app does not hold the others: they are ready elsewhere within the deadline.
      const othersReadyAt = await waitFor(async () => ((await f.readyElsewhere(victim, APPS)) ? Date.now() : undefined), { timeoutMs: 30_000, intervalMs: 50, what: `the other apps ready away from ${victim}` });
      const afterFault = othersReadyAt - faultAt;
      const events = (await f.state()).events.filter((e) => Date.parse(e.at) >= faultAt).reverse();
      expect(afterFault, `the other apps ready ${afterFault} ms after the fault; events: ${events.map((e) => `${e.at.slice(17)} ${e.type} ${e.message}`).join(' | ')}`).toBeLessThanOrEqual(READY_DEADLINE_MS);
      const s = await waitFor(async () => {
        const st = await f.state();
        return st.alerts.some((a) => a.name === 'FederationFailoverDegraded' && a.labels.member === victim) ? st : undefined;
      }, { timeoutMs: 20_000, intervalMs: 100, what: `FederationFailoverDegraded for ${victim}` });
      const fo = s.failovers.find((x) => x.member === victim && x.unhealthyAt && Date.parse(x.unhealthyAt) >= faultAt)!;
      expect(fo.degraded).toMatch(/ImagePullBackOff/);
      const drainedAt = eventAt(s, 'failover', victim, faultAt)!;
      const degradedAt = eventAt(s, 'failover-degraded', victim, faultAt)!;
      console.log(`stuck: failover degraded ${degradedAt - drainedAt} ms after the drain (readyTimeout ${HEALTH.readyTimeoutMs} ms)`);
      expect(degradedAt - drainedAt).toBeGreaterThanOrEqual(HEALTH.readyTimeoutMs);
      expect(degradedAt - drainedAt).toBeLessThanOrEqual(HEALTH.readyTimeoutMs + 1000);

      const healStart = Date.now();
      await f.heal('sigstop', victim);
      const st = await waitFor(async () => {
        const x = await f.state();
        const back = x.clusters.find((c) => c.name === victim)!;
        return back.traffic.phase === 'serving' && back.traffic.weight === 256 && eventAt(x, 'failback-degraded', victim, healStart) ? x : undefined;
      }, { timeoutMs: 60_000, intervalMs: 50, what: `${victim} back at full weight after a degraded failback` });
      const recovered = eventAt(st, 'member-recovered', victim, healStart)!;
      const failbackDegraded = eventAt(st, 'failback-degraded', victim, healStart)!;
      console.log(`stuck: failback-degraded ${failbackDegraded - recovered} ms after Healthy (readyTimeout ${HEALTH.readyTimeoutMs} ms)`);
      // The wait for the returned replicas ends at readyTimeout, not later; traffic returns anyway.
      expect(failbackDegraded - recovered).toBeLessThanOrEqual(HEALTH.readyTimeoutMs + 1000);
      expect(st.alerts.some((a) => a.name === 'FederationFailbackDegraded' && a.labels.member === victim)).toBe(true);
      expect((await f.front())[victim]).toMatchObject({ state: 'ready', weight: 256 });
      // The returned pods are still stuck (the wait ended by readyTimeout), the other apps are back and ready.
      const ds = await f.deployments(victim);
      expect(ds.find((d) => d.name === 'stuck')).toMatchObject({ replicas: 1, ready: false });
      await waitFor(() => f.settled(), { timeoutMs: 20_000, intervalMs: 100, what: 'the other apps back 1:1:1 and ready' });
    } finally {
      await f.heal('sigstop', victim).catch(() => undefined);
    }
  }, 240_000);
});
