// Failover at the traffic layer, driven by the real daemon: a real `cluster-mgr run` child process
// (secondOpinion: front) over `cluster-mgr sim` members, switching a real front HAProxy through its
// runtime API (test/e2e/stack.ts). Under a paced load of 2,000 requests one member goes down: it is
// drained at the front no earlier than (failureThreshold − 1) × interval and no later than
// interval × failureThreshold + 0.5 s, 0 requests fail, and after recovery its traffic returns only
// once it is Healthy again (failbackAfter), ramped in failbackSteps steps to full weight. A partition
// that only cluster-mgr sees (the front still reaches the member) is not drained.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemberTraffic } from '../../cluster-mgr/contracts/index';
import { missingTools, requireTools, waitFor } from '../lab/index';
import { loadWithFault, startStack, type Stack } from '../e2e/stack';
import { runLoad, type LoadResult } from './helpers';

/** The health settings under test (ms where a time); `full`: the rendered front config's server weight. */
const T = { interval: 250, threshold: 3, success: 3, failback: 2000, steps: 4, full: 256 } as const;

/** Front changes of the members after the first poll (`state weight`, with performance.now()), polled every 20 ms. */
function watchFront(s: Stack) {
  const seen: { at: number; member: string; state: string; weight: number }[] = [];
  const last = new Map<string, string>();
  let on = true;
  const done = (async () => {
    while (on) {
      const t: Record<string, MemberTraffic> = await s.front().catch(() => ({}));
      const at = performance.now();
      for (const [member, x] of Object.entries(t)) {
        const key = `${x.state} ${x.weight}`;
        const before = last.get(member);
        last.set(member, key);
        // The first poll is the baseline; only changes after it are recorded.
        if (before !== undefined && before !== key) seen.push({ at, member, state: x.state, weight: x.weight });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    seen,
    async stop() {
      on = false;
      await done;
    },
  };
}

/** Requests answered by `member` (the simulator's ingress answers `{"member": …}`). */
const answeredBy = (load: LoadResult, member: string): number =>
  Object.entries(load.byBody).reduce((n, [body, count]) => n + ((JSON.parse(body) as { member?: string }).member === member ? count : 0), 0);

describe('failover through the front HAProxy, driven by cluster-mgr run', () => {
  let stack: Stack | undefined;

  beforeAll(async () => {
    if (missingTools(['haproxy']).length > 0) return; // each test then fails (CI) or skips via requireTools
    stack = await startStack({
      health: { interval: `${T.interval}ms`, timeout: '200ms', failureThreshold: T.threshold, successThreshold: T.success, failbackAfter: `${T.failback}ms`, failbackSteps: T.steps },
      secondOpinion: 'front',
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  const settled = async (s: Stack) => {
    const st = await s.state();
    const front = await s.front();
    return st.clusters.every((c) => c.health === 'Healthy' && front[c.name]?.state === 'ready' && front[c.name]?.weight === T.full);
  };

  it('drains a downed member within interval × failureThreshold + 0.5 s (not before failureThreshold probes) with 0 failed requests, and fails back', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    const s = stack!;
    const victim = s.sim.members[0]!.name;
    const front = watchFront(s);
    try {
      let drainedAt: Promise<number> | undefined;
      // Paced over 4 s with the fault at 20 %: requests keep flowing through detection and drain.
      const { load, faultAt } = await loadWithFault(s, 4000, async () => {
        await s.sim.setFault(victim, 'down');
        drainedAt = (async () => {
          await waitFor(async () => (await s.front())[victim]?.state === 'drain', { what: `${victim} drained at the front`, timeoutMs: 5000, intervalMs: 10 });
          return performance.now();
        })();
        await drainedAt;
      });
      const drainMs = (await drainedAt!) - faultAt;
      console.log(`failover: fault → drained at the front ${drainMs.toFixed(0)} ms; ${load.failed}/${load.sent} requests failed over ${load.durationMs.toFixed(0)} ms`);
      expect(load.sent).toBe(2000);
      // The load outlasted the failover (requests before, during and after the drain).
      expect(load.durationMs).toBeGreaterThan(drainMs + 0.2 * 4000);
      expect(load.failed, load.errors.join('\n')).toBe(0);
      expect(answeredBy(load, victim)).toBeGreaterThan(0);
      expect(drainMs).toBeLessThanOrEqual(T.interval * T.threshold + 500);
      // Drained only after failureThreshold failed probes: the first may land right at the fault, the
      // others one interval apart. Earlier would be draining on fewer failures than configured.
      expect(drainMs).toBeGreaterThanOrEqual((T.threshold - 1) * T.interval - 25);
      const st = await s.state();
      expect(st.clusters.find((c) => c.name === victim)!.traffic).toMatchObject({ phase: 'drained', weight: 0 });
      expect(st.clusters.find((c) => c.name === victim)!.health).toBe('Unhealthy');

      // Recovery: Healthy again after successThreshold probes AND failbackAfter since the first
      // success; the replicas return, then the traffic ramps in failbackSteps steps to full weight.
      const upAt = performance.now();
      await s.sim.setFault(victim, 'none');
      await waitFor(async () => (await s.front())[victim]?.state === 'ready' && (await s.front())[victim]?.weight === T.full, {
        what: `${victim} back at full weight`,
        timeoutMs: T.failback * 2 + T.interval * (T.success + T.steps) + 6000,
        intervalMs: 20,
      });
      const backMs = performance.now() - upAt;
      await front.stop();
      const ramp = front.seen.filter((c) => c.member === victim && c.at >= upAt);
      // The wait above saw full weight at upAt + backMs; the sampler may not have polled since.
      if (ramp.at(-1)?.weight !== T.full) ramp.push({ at: upAt + backMs, member: victim, state: 'ready', weight: T.full });
      console.log(`failback: recovery → full weight ${backMs.toFixed(0)} ms via ${ramp.map((c) => `${c.state} ${c.weight} @${(c.at - upAt).toFixed(0)}`).join(', ')}`);
      // The ramp's steps, in order, ending at full weight. The front is sampled over its runtime API;
      // on a loaded machine one sample can take longer than a step (failbackAfter / failbackSteps),
      // so a step may be missed — but nothing outside the ramp may show, and never out of order.
      const steps = Array.from({ length: T.steps }, (_, i) => `ready ${(T.full * (i + 1)) / T.steps}`);
      const got = ramp.map((c) => `${c.state} ${c.weight}`);
      expect(got.length, got.join(', ')).toBeGreaterThanOrEqual(2);
      expect(got.map((g) => steps.indexOf(g)), got.join(', ')).toEqual([...got.map((g) => steps.indexOf(g))].sort((x, y) => x - y));
      expect(got.every((g) => steps.includes(g)) && new Set(got).size === got.length, got.join(', ')).toBe(true);
      expect(got[got.length - 1]).toBe(steps[steps.length - 1]);
      // No traffic before the member is Healthy again (failbackAfter since the first good probe) …
      expect(ramp[0]!.at - upAt).toBeGreaterThanOrEqual(T.failback);
      // … and the ramp spreads over failbackAfter (rampStep: full weight once failbackAfter has
      // elapsed since the first step; the first step's observation may lag by a poll).
      expect(ramp[ramp.length - 1]!.at - ramp[0]!.at).toBeGreaterThanOrEqual(T.failback - 100);
      expect(backMs).toBeGreaterThanOrEqual(2 * T.failback);
      // Upper bound: Healthy after failbackAfter (+ an interval of probe phase), replicas back in
      // failbackSteps intervals (pods ready within ~2 intervals), then the ramp.
      expect(backMs).toBeLessThanOrEqual(T.failback + T.interval * (1 + T.steps + 2) + T.failback + 1000);
      expect((await s.state()).clusters.find((c) => c.name === victim)!.health).toBe('Healthy');
    } finally {
      await front.stop();
    }
  }, 90_000);

  it('split-brain guard: probes from cluster-mgr fail but the front still reaches the member → not drained', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    const s = stack!;
    await waitFor(() => settled(s), { what: 'every member Healthy at full weight', timeoutMs: 15_000 });
    const member = s.sim.members[1]!.name;
    const blocked = async () => (await s.state()).alerts.some((a) => a.name === 'FederationFailoverBlocked' && a.labels.member === member);
    const front = watchFront(s);
    await waitFor(async () => (await s.front())[member]?.weight === T.full, { what: 'front baseline polled', timeoutMs: 2000 });
    await s.sim.setFault(member, 'partition');
    try {
      await waitFor(blocked, { what: 'FederationFailoverBlocked fired', timeoutMs: T.interval * T.threshold + 2000 });
      expect((await s.state()).clusters.find((c) => c.name === member)!.health).toBe('Unhealthy');
      // Several more passes: still serving at the front, its own check up, no traffic change.
      const load = await runLoad({ url: s.frontUrl, total: 200, concurrency: 4, deadlineMs: 10_000, spreadOverMs: T.interval * 4 });
      expect(load.failed, load.errors.join('\n')).toBe(0);
      expect(answeredBy(load, member)).toBeGreaterThan(50);
      expect((await s.front())[member]).toMatchObject({ state: 'ready', weight: T.full, checkUp: true });
      await front.stop();
      expect(front.seen.filter((c) => c.member === member)).toEqual([]);
      expect((await s.state()).apps[0]!.assignments[member]).toBeGreaterThan(0);
    } finally {
      await front.stop();
      await s.sim.setFault(member, 'none');
    }
    await waitFor(async () => !(await blocked()), { what: 'blocked alert resolved', timeoutMs: T.interval * 6 + T.failback + 4000 });
  }, 60_000);
});
