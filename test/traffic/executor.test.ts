// executePlan: order kept, a failed drain stops that member's replica move (never move replicas
// before traffic is off), other members continue, the switch failure raises an alert.
import { describe, expect, it } from 'vitest';
import { committedPhases, executePlan } from '../../cluster-mgr/adapters/traffic-executor';
import { planTraffic } from '../../cluster-mgr/core/traffic-plan';
import type { Alert, MemberTraffic, ServingState, TrafficSwitch } from '../../cluster-mgr/contracts/index';

class MemorySwitch implements TrafficSwitch {
  readonly kind = 'none' as const;
  readonly state: Record<string, MemberTraffic> = {};
  constructor(private readonly broken: Set<string>) {}
  async set(member: string, state: ServingState, weight = 100): Promise<void> {
    if (this.broken.has(member)) throw new Error(`cannot reach the LB for ${member}`);
    this.state[member] = { state, weight };
  }
  async observe() {
    return { ...this.state };
  }
}

describe('executePlan', () => {
  it('runs actions in order; a failed drain blocks that member\'s replica move only', async () => {
    const plan = planTraffic(
      [
        { name: 'a', healthy: false, replicasReady: true },
        { name: 'b', healthy: false, replicasReady: true },
        { name: 'c', healthy: true, replicasReady: true },
      ],
      { failbackAfterMs: 60_000 },
      0,
    );
    const sw = new MemorySwitch(new Set(['a']));
    const log: string[] = [];
    const fired: Alert[] = [];
    const report = await executePlan(plan, {
      traffic: sw,
      alerter: { fire: async (a) => void fired.push(a), resolve: async () => undefined },
      moveReplicasAway: async (m) => void log.push(`move ${m}`),
      returnReplicas: async (m) => void log.push(`return ${m}`),
    });
    expect(log).toEqual(['move b']);
    expect(sw.state.b).toEqual({ state: 'drain', weight: 0 });
    expect(sw.state.a).toBeUndefined();
    expect(report.stopped).toEqual(['a']);
    expect(report.failed.map((f) => f.error)).toEqual(['cannot reach the LB for a']);
    // a keeps its previous phase, so the next pass plans drain + move again; b is drained.
    const phases = committedPhases(plan, report, {});
    expect(phases.a).toEqual({ kind: 'serving' });
    expect(phases.b!.kind).toBe('drained');
    const retry = planTraffic(
      [
        { name: 'a', healthy: false, replicasReady: true, phase: phases.a },
        { name: 'b', healthy: false, replicasReady: true, phase: phases.b, observed: sw.state.b },
        { name: 'c', healthy: true, replicasReady: true, phase: phases.c, observed: { state: 'ready', weight: 100 } },
      ],
      { failbackAfterMs: 60_000 },
      1,
    );
    expect(retry.actions.filter((x) => x.kind !== 'fire').map((x) => `${x.kind} ${'member' in x ? x.member : ''}`)).toEqual(['traffic a', 'moveReplicasAway a']);
    expect(fired.map((a) => `${a.name} ${a.labels.member}`)).toEqual([
      'FederationTrafficSwitchFailed a',
      'FederationMemberUnhealthy a',
      'FederationMemberUnhealthy b',
    ]);
  });

  it('alert delivery failures never stop the failover', async () => {
    const plan = planTraffic([{ name: 'a', healthy: false, replicasReady: true }, { name: 'b', healthy: true, replicasReady: true }], { failbackAfterMs: 0 }, 0);
    const sw = new MemorySwitch(new Set());
    const moved: string[] = [];
    const report = await executePlan(plan, {
      traffic: sw,
      alerter: { fire: async () => Promise.reject(new Error('alertmanager down')), resolve: async () => undefined },
      moveReplicasAway: async (m) => void moved.push(m),
      returnReplicas: async () => undefined,
    });
    expect(moved).toEqual(['a']);
    expect(report.failed.map((f) => f.action.kind)).toEqual(['fire']);
  });
});
