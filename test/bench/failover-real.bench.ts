// `npm run bench -- failover-real`: 10 trials of a member fault on three REAL control planes
// (test/cluster-mgr/real-federation.ts: lab control planes with a kwok worker each, `cluster-mgr run`
// as a real process, a real front HAProxy it drives over the runtime API). The faults rotate over
// the members: kube-apiserver frozen (SIGSTOP), cut off (its address dropped in a network namespace
// on the path), killed (SIGKILL). Per trial:
//   fault → Unhealthy        the daemon's `member-unhealthy` event (its clock; same machine);
//   Unhealthy → drained      the member in `drain` in the front's `show servers state` (polled 10 ms);
//   fault → replicas Ready   every app's replicas on the other members, Deployment status ready
//                            (observedGeneration, updated, ready, available), read from their API servers.
// Then the member is healed and the federation waits to settle (full weight, 1:1:1 and ready, no
// member health change for 3 s) before the next trial; recovery → full weight is reported too (informational).
// Then the steady-state API load of 500 apps (test/bench/steady-real.ts, also `npm run bench -- steady-real`).
import { k8sAssets } from '../../scripts/lab/k8s-assets';
import { missingTools } from '../lab/tools';
import { HEALTH, settledAndQuiet, startRealFederation, timeFailback, timeFailover, type Fault } from '../cluster-mgr/real-federation';
import { pct } from './percentile';
import { steadyRows, steadyStateReal } from './steady-real';
import type { BenchResult } from './run';

const TRIALS = 10;
const FAULTS: readonly Fault[] = ['sigstop', 'cut', 'sigkill'];
const TARGET = { unhealthy: 3000, drained: 500, ready: 5000 } as const;

export default async function bench(): Promise<BenchResult[]> {
  const assets = k8sAssets();
  const missing = missingTools(['haproxy', 'socat']);
  if (!assets.ok || missing.length > 0) {
    const why = !assets.ok ? assets.message.split('\n')[0] : `missing ${missing.join(', ')}`;
    return [{ name: 'failover-real: fault → Unhealthy', value: NaN, unit: 'ms', detail: `skipped: ${why} (run scripts/setup)` }];
  }
  const fed = await startRealFederation('bench-fo');
  const unhealthy: number[] = [];
  const drained: number[] = [];
  const ready: number[] = [];
  const back: number[] = [];
  try {
    await fed.startCm();
    await settledAndQuiet(fed, 120_000);
    for (let t = 0; t < TRIALS; t++) {
      const fault = FAULTS[t % FAULTS.length]!;
      // The cut needs the member behind the cuttable path; the API server faults take the others in turn.
      const victim = fault === 'cut' ? fed.cutMember : fed.names[(t % 2) as 0 | 1]!;
      try {
        const f = await timeFailover(fed, victim, fault);
        unhealthy.push(f.unhealthyMs);
        drained.push(f.drainedMs - f.unhealthyMs);
        ready.push(f.readyMs);
        const b = await timeFailback(fed, victim, fault, { timeoutMs: 120_000 });
        back.push(b.settledMs);
        process.stderr.write(
          `  trial ${t + 1} (${victim}, ${fault}): Unhealthy ${f.unhealthyMs} ms, drained +${f.drainedMs - f.unhealthyMs} ms, replicas ready elsewhere ${f.readyMs} ms; healed → settled ${b.settledMs} ms\n`,
        );
      } finally {
        await fed.heal(fault, victim).catch(() => undefined);
      }
      // A member whose API server was killed has controllers in client-go's backoff: let it settle.
      await settledAndQuiet(fed, 120_000);
    }
  } finally {
    await fed.stop();
  }
  const rows = (name: string, xs: number[], target: number, plus = false, detail?: string): BenchResult[] =>
    [50, 95].map((p) => ({
      name: `failover-real: ${name}, p${p}`,
      value: pct(xs, p),
      unit: 'ms',
      target: `≤ ${plus ? '+' : ''}${target} ms`,
      ok: pct(xs, p) <= target,
      ...(p === 50 ? { detail: `${xs.length} trials${detail ? `; ${detail}` : ''}` } : {}),
    }));
  const settings = `interval ${HEALTH.intervalMs} ms, timeout ${HEALTH.timeoutMs} ms, failureThreshold ${HEALTH.failureThreshold}`;
  return [
    ...rows('fault → Unhealthy', unhealthy, TARGET.unhealthy, false, `${settings}; faults ${FAULTS.join('/')} in turn`),
    ...rows('Unhealthy → front drained (HAProxy)', drained, TARGET.drained, true),
    ...rows('fault → replicas Ready elsewhere', ready, TARGET.ready, false, 'kwok pods; Deployment status on the other members'),
    ...[50, 95].map((p) => ({ name: `failover-real: healed → full weight, settled, p${p}`, value: pct(back, p), unit: 'ms', ...(p === 50 ? { detail: `failbackAfter ${HEALTH.failbackAfterMs} ms (twice: Healthy, then the ramp)` } : {}) })),
    // Issue 11's other figure: API requests per minute per member at steady state with 500 apps, and
    // relists after start-up (its own federation of three control planes; this one is stopped above).
    ...steadyRows(await steadyStateReal()),
  ];
}
