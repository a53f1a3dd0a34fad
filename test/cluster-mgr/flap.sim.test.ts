// A member flapping every second for 60 s causes at most one failover and one failback.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Running } from '../../cluster-mgr/daemon/main';
import { waitFor } from '../lab/wait';
import { getState, readyPods, startEnv, startInProcess, type Env } from './harness';

// Fast detection (so that one second down really fails the member over) and failbackAfter longer
// than one "up" second (so that flapping cannot fail back).
const health = { interval: '400ms', timeout: '300ms', failureThreshold: 2, successThreshold: 2, failbackAfter: '5s', failbackSteps: 2 };
const FLAP_SECONDS = 60;
let env: Env;
let cm: Running;

beforeAll(async () => {
  env = await startEnv({ names: ['sim-1', 'sim-2'], perMember: { 'sim-2': { nodeCpu: '2' } } }, { health });
  cm = await startInProcess(env);
});
afterAll(async () => {
  await cm?.stop();
  await env?.sim.stop();
});

async function counter(name: string, member: string): Promise<number> {
  const text = await (await fetch(`${cm.url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{member="${member}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

it(`flapping every second for ${FLAP_SECONDS} s: at most one failover and one failback`, { timeout: (FLAP_SECONDS + 60) * 1000 }, async () => {
  await waitFor(() => readyPods(env.sim)['sim-2'] === 2, { timeoutMs: 15_000, what: 'steady 4/2' });
  const start = performance.now();
  for (let i = 0; i < FLAP_SECONDS; i++) {
    await env.sim.setFault('sim-2', i % 2 === 0 ? 'down' : 'none');
    const next = start + (i + 1) * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  await env.sim.setFault('sim-2', 'none');
  const failoversDuring = await counter('cluster_mgr_failovers_total', 'sim-2');
  const failbacksDuring = await counter('cluster_mgr_failbacks_total', 'sim-2');
  expect(failoversDuring).toBe(1); // it did fail over (detection is fast enough) — exactly once
  expect(failbacksDuring).toBe(0);
  // once stable for failbackAfter, exactly one failback and the split is restored
  await waitFor(() => readyPods(env.sim)['sim-2'] === 2 && readyPods(env.sim)['sim-1'] === 4, { timeoutMs: 30_000, what: 'failback to 4/2' });
  expect(await counter('cluster_mgr_failovers_total', 'sim-2')).toBe(1);
  expect(await counter('cluster_mgr_failbacks_total', 'sim-2')).toBe(1);
  expect((await getState(cm.url)).clusters.find((c) => c.name === 'sim-2')!.health).toBe('Healthy');
});
