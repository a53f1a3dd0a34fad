// Failover sequencing table: drain before replicas, replicas before traffic on recovery, the ramp
// over failbackAfter, never draining the last serving member, and the split-brain guard.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planTraffic, rampStep, rampWeight, type MemberInput, type MemberPhase, type TrafficAction, type TrafficPlanConfig } from '../../cluster-mgr/core/traffic-plan';

const cfg: TrafficPlanConfig = { failbackAfterMs: 60_000, rampSteps: 4, fullWeight: 100 };
const ready = { state: 'ready', weight: 100 } as const;
const drained = { state: 'drain', weight: 0 } as const;
const m = (name: string, over: Partial<MemberInput> = {}): MemberInput => ({ name, healthy: true, replicasReady: true, observed: ready, ...over });

/** Compact action strings for table comparison. */
const show = (a: TrafficAction): string => {
  switch (a.kind) {
    case 'traffic':
      return `traffic ${a.member} ${a.state} ${a.weight}`;
    case 'fire':
    case 'resolve':
      return `${a.kind} ${a.alert.name} ${a.alert.labels.member}`;
    default:
      return `${a.kind} ${a.member}`;
  }
};

describe('planTraffic', () => {
  const table: { name: string; members: MemberInput[]; config?: Partial<TrafficPlanConfig>; now?: number; actions: string[]; phases?: Record<string, MemberPhase['kind']>; blocked?: string[] }[] = [
    {
      name: 'all healthy and serving: nothing to do',
      members: [m('a'), m('b')],
      actions: [],
      phases: { a: 'serving', b: 'serving' },
    },
    {
      name: 'unhealthy member: traffic drained first, then replicas, then the alert',
      members: [m('a', { healthy: false }), m('b')],
      actions: ['traffic a drain 0', 'moveReplicasAway a', 'fire FederationMemberUnhealthy a'],
      phases: { a: 'drained', b: 'serving' },
    },
    {
      name: 'the last serving member is never drained: kept, critical alert',
      members: [m('a', { healthy: false }), m('b', { phase: { kind: 'drained', since: 0 }, healthy: false, observed: drained })],
      actions: ['fire FederationFailoverBlocked a'],
      phases: { a: 'serving', b: 'drained' },
      blocked: ['a'],
    },
    {
      name: 'all members fail at once: all but one drained (name order), the last kept',
      members: [m('a', { healthy: false }), m('b', { healthy: false }), m('c', { healthy: false })],
      actions: [
        'traffic a drain 0',
        'moveReplicasAway a',
        'fire FederationMemberUnhealthy a',
        'traffic b drain 0',
        'moveReplicasAway b',
        'fire FederationMemberUnhealthy b',
        'fire FederationFailoverBlocked c',
      ],
      blocked: ['c'],
    },
    {
      name: 'blocked alert is not re-fired while the block lasts',
      members: [m('a', { healthy: false, blocked: true }), m('b', { healthy: false, phase: { kind: 'drained', since: 0 }, observed: drained })],
      actions: [],
      blocked: ['a'],
    },
    {
      name: 'split-brain guard: probes fail but the front HAProxy sees it up → not drained',
      members: [m('a', { healthy: false, secondOpinionUp: true }), m('b')],
      config: { requireSecondOpinion: true },
      actions: ['fire FederationFailoverBlocked a'],
      phases: { a: 'serving' },
      blocked: ['a'],
    },
    {
      name: 'split-brain guard: second vantage point silent → not drained',
      members: [m('a', { healthy: false }), m('b')],
      config: { requireSecondOpinion: true },
      actions: ['fire FederationFailoverBlocked a'],
      blocked: ['a'],
    },
    {
      name: 'split-brain guard: both agree → drained, and the block resolves',
      members: [m('a', { healthy: false, secondOpinionUp: false, blocked: true }), m('b')],
      config: { requireSecondOpinion: true },
      actions: ['traffic a drain 0', 'moveReplicasAway a', 'fire FederationMemberUnhealthy a', 'resolve FederationFailoverBlocked a'],
      phases: { a: 'drained' },
    },
    {
      name: 'guard not configured: the second opinion is ignored',
      members: [m('a', { healthy: false, secondOpinionUp: true }), m('b')],
      actions: ['traffic a drain 0', 'moveReplicasAway a', 'fire FederationMemberUnhealthy a'],
    },
    {
      name: 'still unhealthy while drained: nothing new',
      members: [m('a', { healthy: false, phase: { kind: 'drained', since: 0 }, observed: drained }), m('b')],
      actions: [],
      phases: { a: 'drained' },
    },
    {
      name: 'drained member whose HAProxy forgot the drain (restart): drain re-asserted',
      members: [m('a', { healthy: false, phase: { kind: 'drained', since: 0 }, observed: ready }), m('b')],
      actions: ['traffic a drain 0'],
    },
    {
      name: 'recovery: replicas return first, traffic stays drained',
      members: [m('a', { phase: { kind: 'drained', since: 0 }, observed: drained, replicasReady: false }), m('b')],
      actions: ['returnReplicas a', 'resolve FederationMemberUnhealthy a', 'fire FederationMemberRecovered a'],
      phases: { a: 'restoring' },
    },
    {
      name: 'restoring: replicas not ready yet → traffic stays drained',
      members: [m('a', { phase: { kind: 'restoring', since: 0 }, observed: drained, replicasReady: false }), m('b')],
      actions: [],
      phases: { a: 'restoring' },
    },
    {
      name: 'restoring: replicas ready → first ramp step (25)',
      members: [m('a', { phase: { kind: 'restoring', since: 0 }, observed: drained }), m('b')],
      actions: ['traffic a ready 25'],
      phases: { a: 'ramping' },
    },
    {
      name: 'ramping: two thirds of failbackAfter elapsed → step 3 (75)',
      members: [m('a', { phase: { kind: 'ramping', since: 0, step: 2 }, observed: { state: 'ready', weight: 50 } }), m('b')],
      now: 40_000,
      actions: ['traffic a ready 75'],
      phases: { a: 'ramping' },
    },
    {
      name: 'ramping: failbackAfter elapsed → full weight, recovered alert resolved',
      members: [m('a', { phase: { kind: 'ramping', since: 0, step: 4 }, observed: { state: 'ready', weight: 75 } }), m('b')],
      now: 60_000,
      actions: ['traffic a ready 100', 'resolve FederationMemberRecovered a'],
      phases: { a: 'serving' },
    },
    {
      name: 'fails again while restoring: replicas move away again',
      members: [m('a', { healthy: false, phase: { kind: 'restoring', since: 0 }, observed: drained }), m('b')],
      actions: ['moveReplicasAway a'],
      phases: { a: 'drained' },
    },
    {
      name: 'fails again while ramping: drained again',
      members: [m('a', { healthy: false, phase: { kind: 'ramping', since: 0, step: 2 }, observed: { state: 'ready', weight: 50 } }), m('b')],
      actions: ['traffic a drain 0', 'moveReplicasAway a', 'fire FederationMemberUnhealthy a'],
      phases: { a: 'drained' },
    },
    {
      name: 'a ramping member counts as serving: the other may be drained',
      members: [m('a', { phase: { kind: 'ramping', since: 0, step: 1 }, observed: { state: 'ready', weight: 25 } }), m('b', { healthy: false })],
      now: 1000,
      actions: ['traffic b drain 0', 'moveReplicasAway b', 'fire FederationMemberUnhealthy b'],
    },
    {
      name: 'serving member at a wrong weight is corrected',
      members: [m('a', { observed: { state: 'ready', weight: 1 } }), m('b', { observed: undefined })],
      actions: ['traffic a ready 100', 'traffic b ready 100'],
    },
    {
      name: 'a blocked member that recovers while ramping: block resolved, ramp continues',
      members: [m('a', { blocked: true, phase: { kind: 'ramping', since: 0, step: 1 }, observed: { state: 'ready', weight: 25 } }), m('b')],
      now: 20_000,
      actions: ['resolve FederationFailoverBlocked a', 'traffic a ready 50'],
      phases: { a: 'ramping' },
    },
    {
      name: 'zero failbackAfter: straight to full weight once replicas are ready',
      members: [m('a', { phase: { kind: 'restoring', since: 0 }, observed: drained }), m('b')],
      config: { failbackAfterMs: 0 },
      actions: ['traffic a ready 100', 'resolve FederationMemberRecovered a'],
      phases: { a: 'serving' },
    },
  ];

  it.each(table)('$name', ({ members, config, now, actions, phases, blocked }) => {
    const plan = planTraffic(members, { ...cfg, ...config }, now ?? 1000);
    expect(plan.actions.map(show)).toEqual(actions);
    for (const [name, kind] of Object.entries(phases ?? {})) expect(plan.members[name]!.phase.kind, name).toBe(kind);
    expect(Object.entries(plan.members).filter(([, o]) => o.blocked).map(([n]) => n)).toEqual(blocked ?? []);
  });

  it('a full failover and failback cycle in order, driven by the clock', () => {
    const phases: Record<string, MemberPhase | undefined> = {};
    const observed: Record<string, { state: 'ready' | 'drain' | 'maint'; weight: number }> = { a: ready, b: ready };
    const log: string[] = [];
    const pass = (now: number, health: Record<string, boolean>, replicasReady = true) => {
      const plan = planTraffic(
        ['a', 'b'].map((n) => ({ name: n, healthy: health[n]!, replicasReady, observed: observed[n], phase: phases[n] })),
        cfg,
        now,
      );
      for (const a of plan.actions) {
        if (a.kind === 'traffic') observed[a.member] = { state: a.state, weight: a.weight };
        log.push(`${now} ${show(a)}`);
      }
      for (const [n, o] of Object.entries(plan.members)) phases[n] = o.phase;
    };
    pass(0, { a: true, b: true });
    pass(1000, { a: false, b: true });
    pass(2000, { a: false, b: true });
    pass(10_000, { a: true, b: true }, false);
    pass(11_000, { a: true, b: true }, false);
    pass(12_000, { a: true, b: true });
    pass(31_999, { a: true, b: true });
    pass(32_000, { a: true, b: true });
    pass(52_000, { a: true, b: true });
    pass(71_999, { a: true, b: true });
    pass(72_000, { a: true, b: true });
    pass(73_000, { a: true, b: true });
    expect(log).toEqual([
      '1000 traffic a drain 0',
      '1000 moveReplicasAway a',
      '1000 fire FederationMemberUnhealthy a',
      '10000 returnReplicas a',
      '10000 resolve FederationMemberUnhealthy a',
      '10000 fire FederationMemberRecovered a',
      '12000 traffic a ready 25',
      '32000 traffic a ready 50',
      '52000 traffic a ready 75',
      '72000 traffic a ready 100',
      '72000 resolve FederationMemberRecovered a',
    ]);
  });

  it('does not mutate its input', () => {
    const members = Object.freeze([Object.freeze(m('a', { healthy: false })), Object.freeze(m('b'))]);
    expect(() => planTraffic(members, cfg, 0)).not.toThrow();
  });
});

describe('ramp helpers', () => {
  it.each([
    [0, 1],
    [19_999, 1],
    [20_000, 2],
    [40_000, 3],
    [59_999, 3],
    [60_000, 4],
    [1_000_000, 4],
  ])('step at %i ms of 60 s in 4 steps = %i', (elapsed, step) => {
    expect(rampStep(elapsed, 60_000, 4)).toBe(step);
  });
  it('weights: 25/50/75/100, never 0 while ramping', () => {
    expect([1, 2, 3, 4].map((s) => rampWeight(s, 4, 100))).toEqual([25, 50, 75, 100]);
    expect(rampWeight(1, 100, 10)).toBe(1);
  });
});

describe('planTraffic properties (fast-check)', () => {
  const phaseArb = fc.oneof(
    fc.constant<MemberPhase>({ kind: 'serving' }),
    fc.record({ kind: fc.constant('drained' as const), since: fc.integer({ min: 0, max: 1000 }) }),
    fc.record({ kind: fc.constant('restoring' as const), since: fc.integer({ min: 0, max: 1000 }) }),
    fc.record({ kind: fc.constant('ramping' as const), since: fc.integer({ min: 0, max: 1000 }), step: fc.integer({ min: 1, max: 4 }) }),
  );
  const memberArb = (name: string) =>
    fc.record({
      name: fc.constant(name),
      healthy: fc.boolean(),
      replicasReady: fc.boolean(),
      secondOpinionUp: fc.option(fc.boolean(), { nil: undefined }),
      phase: phaseArb,
      blocked: fc.boolean(),
    });
  const membersArb = fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => memberArb(`m${i}`))));
  const carries = (p: MemberPhase) => p.kind === 'serving' || p.kind === 'ramping';

  it('never takes the last traffic-carrying member out; drains come before replica moves; no NaN weights', () => {
    fc.assert(
      fc.property(membersArb, fc.boolean(), fc.integer({ min: 0, max: 120_000 }), (members, guard, now) => {
        const plan = planTraffic(members, { failbackAfterMs: 60_000, requireSecondOpinion: guard }, now + 1000);
        const before = members.filter((m) => carries(m.phase)).length;
        const after = Object.values(plan.members).filter((o) => carries(o.phase)).length;
        if (before > 0) expect(after).toBeGreaterThan(0);
        for (const a of plan.actions) {
          if (a.kind === 'traffic') {
            expect(Number.isInteger(a.weight) && a.weight >= 0 && a.weight <= 100).toBe(true);
            if (a.state === 'ready') expect(a.weight).toBeGreaterThan(0);
          }
          if (a.kind === 'moveReplicasAway') {
            const i = plan.actions.indexOf(a);
            const prevTraffic = plan.actions.slice(0, i).some((x) => x.kind === 'traffic' && x.member === a.member && x.state === 'drain');
            const wasDrained = members.find((m) => m.name === a.member)!.phase.kind !== 'serving' && members.find((m) => m.name === a.member)!.phase.kind !== 'ramping';
            expect(prevTraffic || wasDrained).toBe(true);
          }
        }
        // Healthy members are never drained by the plan.
        for (const m of members) if (m.healthy) expect(plan.actions.some((a) => a.kind === 'traffic' && a.member === m.name && a.state === 'drain' && carries(m.phase))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
