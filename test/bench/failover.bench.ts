// `npm run bench failover`: 10 trials of a member fault against the REAL stack — `cluster-mgr run`
// (child process, probes every 250 ms, failureThreshold 3) driving a front HAProxy rendered by
// renderFrontHaproxy over `cluster-mgr sim` members — with a paced load of 2,000 requests per trial
// through the front. Reports p50/p95 of fault → drained at the front (`show servers state`), fault →
// replicas ready elsewhere (cluster-mgr's /api/state: the member has 0 assigned and every other member
// runs its share, ready), failed requests, and recovery → full weight.
import { missingTools } from '../lab/index';
import { waitFor } from '../lab/wait';
import { loadWithFault, startStack } from '../e2e/stack';
import { pct } from './percentile';
import type { BenchResult } from './run';

const TRIALS = 10;
const INTERVAL = 250;
const THRESHOLD = 3;
const FAILBACK = 1000;

export default async function bench(): Promise<BenchResult[]> {
  if (missingTools(['haproxy']).length > 0) {
    return [{ name: 'failover: fault → drained at front', value: NaN, unit: 'ms', detail: 'skipped: haproxy missing (run scripts/setup)' }];
  }
  const s = await startStack({ health: { interval: `${INTERVAL}ms`, timeout: '200ms', failureThreshold: THRESHOLD, successThreshold: 2, failbackAfter: `${FAILBACK}ms` } });
  const drain: number[] = [];
  const replicas: number[] = [];
  const back: number[] = [];
  let failed = 0;
  let sent = 0;
  try {
    for (let t = 0; t < TRIALS; t++) {
      const victim = s.sim.members[t % 2]!.name;
      const others = s.sim.members.map((m) => m.name).filter((n) => n !== victim);
      let drainedAt = 0;
      let readyAt = 0;
      const { load, faultAt } = await loadWithFault(s, 3000, async () => {
        await s.sim.setFault(victim, t % 2 === 0 ? 'down' : '5xx');
        const drained = waitFor(async () => (await s.front())[victim]?.state === 'drain', { what: `${victim} drained`, timeoutMs: 5000, intervalMs: 10 }).then(() => (drainedAt = performance.now()));
        const ready = waitFor(
          async () => {
            const app = (await s.state()).apps[0]!;
            return app.assignments[victim] === 0 && others.every((o) => (app.running[o]?.ready ?? 0) === app.assignments[o] && app.running[o]?.replicas === app.assignments[o]);
          },
          { what: `replicas ready away from ${victim}`, timeoutMs: 10_000, intervalMs: 10 },
        ).then(() => (readyAt = performance.now()));
        await Promise.all([drained, ready]);
      });
      drain.push(drainedAt - faultAt);
      replicas.push(readyAt - faultAt);
      failed += load.failed;
      sent += load.sent;
      const upAt = performance.now();
      await s.sim.setFault(victim, 'none');
      await waitFor(async () => (await s.front())[victim]?.state === 'ready' && (await s.front())[victim]?.weight === 256, { what: `${victim} back`, timeoutMs: 20_000, intervalMs: 20 });
      back.push(performance.now() - upAt);
      process.stderr.write(
        `  trial ${t + 1} (${victim}, ${t % 2 === 0 ? 'down' : '5xx'}): drained in ${drain.at(-1)!.toFixed(0)} ms, replicas ready elsewhere in ${replicas.at(-1)!.toFixed(0)} ms, ${load.failed} failed, back in ${back.at(-1)!.toFixed(0)} ms\n`,
      );
    }
  } finally {
    await s.stop();
  }
  const target = INTERVAL * THRESHOLD + 500;
  return [
    { name: 'failover: fault → drained at front, p50 (10 trials)', value: pct(drain, 50), unit: 'ms', target: `≤ ${target} ms`, ok: pct(drain, 50) <= target },
    { name: 'failover: fault → drained at front, p95 (10 trials)', value: pct(drain, 95), unit: 'ms', target: `≤ ${target} ms`, ok: pct(drain, 95) <= target },
    { name: 'failover: fault → replicas ready elsewhere, p50', value: pct(replicas, 50), unit: 'ms', target: '≤ 5000 ms', ok: pct(replicas, 50) <= 5000, detail: 'sim pods Ready at once' },
    { name: 'failover: fault → replicas ready elsewhere, p95', value: pct(replicas, 95), unit: 'ms', target: '≤ 5000 ms', ok: pct(replicas, 95) <= 5000 },
    { name: 'failover: failed requests during failover (total)', value: failed, unit: 'req', target: '0', ok: failed === 0, detail: `of ${sent} (2,000 per trial, paced over 3 s)` },
    { name: `failback: recovery → full weight, p50 (failbackAfter ${FAILBACK} ms)`, value: pct(back, 50), unit: 'ms' },
    { name: `failback: recovery → full weight, p95 (failbackAfter ${FAILBACK} ms)`, value: pct(back, 95), unit: 'ms' },
  ];
}
