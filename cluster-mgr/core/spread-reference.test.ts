// The fast engine (spread.ts) and the readable reference (spread-reference.ts) agree on random
// inputs: same assignments, unschedulable count, reasons and unschedulableReason.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { divideReplicas, memberTable, type SpreadInput, type SpreadMember } from './spread';
import { divideReplicasReference } from './spread-reference';

const amount = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(0.5, 1.5, 0.1, 0.2, 2.25, 1e-9), fc.double({ min: 0, max: 100, noNaN: true }));
const resources = fc.record({ cpu: amount, memory: amount, pods: amount });
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const memberArb = (name: string): fc.Arbitrary<SpreadMember> =>
  fc
    .record({
      healthy: fc.boolean(),
      selected: opt(fc.boolean()),
      allocatable: resources,
      allocated: resources,
      current: opt(fc.integer({ min: 0, max: 30 })),
      weight: opt(fc.integer({ min: 0, max: 5 })),
      min: opt(fc.integer({ min: 0, max: 10 })),
      max: opt(fc.integer({ min: 0, max: 40 })),
      // Per-node members (core/scheduling filters the nodes) and Pending replicas.
      nodes: opt(fc.array(resources, { maxLength: 6 })),
      pending: opt(fc.integer({ min: 0, max: 8 })),
      running: opt(fc.integer({ min: 0, max: 30 })),
    })
    .map((m) => {
      const out: Record<string, unknown> = { name, healthy: m.healthy, allocatable: m.allocatable, allocated: m.allocated };
      for (const k of ['selected', 'current', 'weight', 'min', 'max', 'nodes', 'pending', 'running'] as const) if (m[k] !== undefined) out[k] = m[k];
      return out as unknown as SpreadMember;
    });

const inputArb: fc.Arbitrary<SpreadInput> = fc
  .uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'), { minLength: 1, maxLength: 8 })
  .chain((names) =>
    fc.record({
      desired: fc.integer({ min: 0, max: 120 }),
      strategy: fc.constantFrom('capacity' as const, 'weighted' as const, 'duplicate' as const),
      request: fc.record({ cpu: fc.constantFrom(0, 0.1, 0.25, 0.5, 1, 2), memory: fc.constantFrom(0, 0.5, 1, 3), pods: fc.constantFrom(0, 1) }),
      members: fc.tuple(...names.map(memberArb)),
      exact: fc.boolean(),
    }),
  );

// More members than a result-key mask holds exactly (52): records are built from the row fields.
const manyArb: fc.Arbitrary<SpreadInput> = fc.integer({ min: 50, max: 64 }).chain((k) =>
  fc.record({
    desired: fc.integer({ min: 0, max: 300 }),
    strategy: fc.constantFrom('capacity' as const, 'weighted' as const, 'duplicate' as const),
    request: fc.record({ cpu: fc.constantFrom(0.25, 1), memory: fc.constantFrom(0, 1), pods: fc.constant(1) }),
    members: fc.tuple(...Array.from({ length: k }, (_, i) => memberArb(`m${String(i).padStart(3, '0')}`))),
    exact: fc.boolean(),
  }),
);

describe('spread: fast engine = reference', () => {
  it('with 50 to 64 members (key masks past their exact range), divideReplicas and memberTable equal the reference', () => {
    fc.assert(
      fc.property(manyArb, (input) => {
        const expected = divideReplicasReference(input);
        expect(divideReplicas(input)).toEqual(expected);
        const t = memberTable(input.members.map((m) => m.name));
        input.members.forEach((m, i) => t.setCapacity(i, m.healthy, m.allocatable, m.allocated));
        for (let round = 0; round < 2; round++) {
          t.startApp(input.request);
          input.members.forEach((m, i) => {
            if (m.selected !== undefined) t.setSelected(i, m.selected);
            t.setCurrent(i, m.current);
            t.setNodes(i, m.nodes, m.pending, m.running);
            t.setPerCluster(i, { ...(m.weight !== undefined ? { weight: m.weight } : {}), ...(m.min !== undefined ? { min: m.min } : {}), ...(m.max !== undefined ? { max: m.max } : {}) });
          });
          expect(t.divide(input.desired, input.strategy, !!input.exact)).toEqual(expected);
        }
      }),
      { numRuns: 150 },
    );
  });


  it('divideReplicas equals divideReplicasReference on random inputs', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(divideReplicas(input)).toEqual(divideReplicasReference(input));
      }),
      { numRuns: 3000 },
    );
  });

  it('the steady state agrees too: dividing again from the result', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const first = divideReplicasReference(input);
        const again = { ...input, exact: false, members: input.members.map((m) => ({ ...m, current: first.assignments[m.name] ?? 0 })) };
        expect(divideReplicas(again)).toEqual(divideReplicasReference(again));
      }),
      { numRuns: 1000 },
    );
  });

  it('an unchanged total with replicas moved off the fair split (the rebalance branch) agrees', () => {
    const arb = fc.tuple(
      inputArb.map((i) => ({ ...i, strategy: i.strategy === 'duplicate' ? ('capacity' as const) : i.strategy, desired: i.desired + 20 })),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 1, max: 12 }),
    );
    fc.assert(
      fc.property(arb, ([input, from, to, k]) => {
        // As observed: `allocated` includes the app's own current replicas, so the room is the same
        // whatever the current split; the fair split is computed over that room.
        const q = input.request;
        const withCurrent = (m: SpreadMember, c: number): SpreadMember => ({
          ...m,
          healthy: true, // every member in play, so that moves reach the tolerance check
          current: c,
          allocated: { cpu: m.allocated.cpu + c * q.cpu, memory: m.allocated.memory + c * q.memory, pods: m.allocated.pods + c * q.pods },
        });
        const fair = divideReplicasReference({ ...input, exact: true, members: input.members.map((m) => withCurrent(m, 0)) }).assignments;
        const names = input.members.map((m) => m.name);
        const current: Record<string, number> = Object.fromEntries(names.map((n) => [n, fair[n] ?? 0]));
        const src = names[from % names.length]!;
        const dst = names[to % names.length]!;
        const moved = Math.min(k, current[src]!);
        current[src]! -= moved;
        current[dst]! += moved;
        const again = { ...input, exact: false, members: input.members.map((m) => withCurrent(m, current[m.name]!)) };
        expect(divideReplicas(again)).toEqual(divideReplicasReference(again));
      }),
      { numRuns: 2000 },
    );
  });

  it('memberTable (cluster-mgr plan) equals the reference', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const members = [...input.members].sort((a, b) => (a.name < b.name ? -1 : 1));
        const t = memberTable(members.map((m) => m.name));
        members.forEach((m, i) => t.setCapacity(i, m.healthy, m.allocatable, m.allocated));
        t.startApp(input.request);
        members.forEach((m, i) => {
          if (m.selected !== undefined) t.setSelected(i, m.selected);
          t.setCurrent(i, m.current);
          t.setNodes(i, m.nodes, m.pending, m.running);
          t.setPerCluster(i, { ...(m.weight !== undefined ? { weight: m.weight } : {}), ...(m.min !== undefined ? { min: m.min } : {}), ...(m.max !== undefined ? { max: m.max } : {}) });
        });
        expect(t.divide(input.desired, input.strategy, !!input.exact)).toEqual(divideReplicasReference(input));
      }),
      { numRuns: 1000 },
    );
  });
});
