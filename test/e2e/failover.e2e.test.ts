// Issue 6 end to end: real front HAProxy (config rendered by renderFrontHaproxy) over `cluster-mgr sim`
// members' ingress endpoints, driven by a real `cluster-mgr run` child process through the HAProxy
// runtime API. Under load, a faulted member is drained at the front within
// interval × failureThreshold + 0.5 s, no request fails, and after recovery + failbackAfter its
// traffic returns (ramped).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools, requireTools, waitFor } from '../lab/index';
import { load, startStack, type Stack } from './stack';

const INTERVAL_MS = 250;
const FAILURE_THRESHOLD = 3;
const SUCCESS_THRESHOLD = 2;
const FAILBACK_MS = 2000;
const DRAIN_DEADLINE_MS = INTERVAL_MS * FAILURE_THRESHOLD + 500;

describe('failover end to end (cluster-mgr run + sim + front HAProxy)', () => {
  let stack: Stack | undefined;

  beforeAll(async () => {
    if (missingTools(['haproxy']).length > 0) return; // each test then fails (CI) or skips via requireTools
    stack = await startStack({
      health: { interval: `${INTERVAL_MS}ms`, timeout: '200ms', failureThreshold: FAILURE_THRESHOLD, successThreshold: SUCCESS_THRESHOLD, failbackAfter: `${FAILBACK_MS}ms`, failbackSteps: 4 },
    });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  for (const mode of ['down', '5xx'] as const) {
    it(`fault ${mode}: drained within ${DRAIN_DEADLINE_MS} ms, 0 of ≥ 2,000 requests fail, traffic returns after recovery`, async (ctx) => {
      requireTools(ctx, ['haproxy']);
      const s = stack!;
      const victim = 'sh1-a';
      const other = 'sh1-b';
      // Weights of the victim seen at the front (to see the ramp), polled every 20 ms.
      const weights: number[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const t = (await s.front().catch(() => ({})))[victim as never] as { weight: number } | undefined;
          if (t && weights[weights.length - 1] !== t.weight) weights.push(t.weight);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      let done = false;
      const loading = load(s.frontUrl, { workers: 6, min: 2000, max: 40_000, maxMs: 40_000, until: () => done });
      try {
        await new Promise((r) => setTimeout(r, 300)); // load running before the fault
        const t0 = performance.now();
        await s.sim.setFault(victim, mode);
        await waitFor(async () => (await s.front())[victim]?.state === 'drain', { what: `${victim} drained at the front`, timeoutMs: 5000, intervalMs: 10 });
        const drainMs = performance.now() - t0;
        console.log(`fault ${mode}: drained at the front after ${Math.round(drainMs)} ms (deadline ${DRAIN_DEADLINE_MS} ms)`);
        expect(drainMs).toBeLessThanOrEqual(DRAIN_DEADLINE_MS);
        // Not before failureThreshold failed probes (the first may land right at the fault).
        expect(drainMs).toBeGreaterThanOrEqual((FAILURE_THRESHOLD - 1) * INTERVAL_MS - 25);
        expect((await s.front())[other]).toMatchObject({ state: 'ready', weight: 256 });

        // Replicas move after the drain: all on the other member, ready.
        await waitFor(
          async () => {
            const app = (await s.state()).apps[0]!;
            return app.assignments[victim] === 0 && (app.running[other]?.ready ?? 0) === app.assignments[other] && (app.assignments[other] ?? 0) > 0;
          },
          { what: `replicas ready on ${other}`, timeoutMs: 5000 },
        );
        await waitFor(async () => (await s.state()).alerts.some((a) => a.name === 'FederationFailoverDone' && a.labels.member === victim), {
          what: 'FederationFailoverDone fired',
          timeoutMs: 2000,
        });
        const st = await s.state();
        expect(st.alerts.map((a) => `${a.name}/${a.labels.member}`)).toEqual(expect.arrayContaining([`FederationMemberUnhealthy/${victim}`, `FederationFailoverDone/${victim}`]));
        const types = st.events.filter((e) => e.member === victim).map((e) => e.type).reverse();
        expect(types.lastIndexOf('traffic-drained')).toBeGreaterThanOrEqual(0);
        expect(types.lastIndexOf('traffic-drained')).toBeLessThan(types.lastIndexOf('failover')); // traffic first, then replicas

        // Recovery: replicas first, then the ramp over failbackAfter, then full weight.
        await new Promise((r) => setTimeout(r, 500));
        const t1 = performance.now();
        await s.sim.setFault(victim, 'none');
        await waitFor(async () => (await s.front())[victim]?.weight === 256 && (await s.front())[victim]?.state === 'ready', {
          what: `${victim} back at full weight`,
          timeoutMs: SUCCESS_THRESHOLD * INTERVAL_MS + FAILBACK_MS + 6000,
          intervalMs: 20,
        });
        const backMs = performance.now() - t1;
        console.log(`fault ${mode}: recovered → full weight after ${Math.round(backMs)} ms (failbackAfter ${FAILBACK_MS} ms); weights seen ${weights.join(' → ')}`);
        // Healthy only failbackAfter after the first good probe, then the ramp takes failbackAfter
        // again (rampStep): full weight earlier would be failing back too soon or switching at once.
        expect(backMs).toBeGreaterThanOrEqual(2 * FAILBACK_MS - 50);
        // The ramp went through intermediate weights (64/128/192 of 256) after the drain.
        const afterDrain = weights.slice(weights.indexOf(0));
        expect(afterDrain.some((w) => w > 0 && w < 256)).toBe(true);
        const app = (await s.state()).apps[0]!;
        expect(app.running[victim]?.ready ?? 0).toBeGreaterThan(0);
      } finally {
        done = true;
        polling = false;
        await poller;
      }
      const r = await loading;
      console.log(`fault ${mode}: ${r.ok} ok, ${r.failed} failed, by member ${JSON.stringify(r.byMember)}`);
      expect(r.errors).toEqual([]);
      expect(r.failed).toBe(0);
      expect(r.ok).toBeGreaterThanOrEqual(2000);
      // Traffic returns to the recovered member.
      const after = await load(s.frontUrl, { workers: 4, min: 400, max: 400, maxMs: 10_000, until: () => true });
      expect(after.failed).toBe(0);
      expect(after.byMember[victim] ?? 0).toBeGreaterThanOrEqual(400 * 0.3);
    }, 90_000);
  }
});
