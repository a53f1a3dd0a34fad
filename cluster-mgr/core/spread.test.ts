// Table-driven division cases (in the style of Karmada's Test_dynamicDivideReplicas) and
// fast-check properties of divideReplicas.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCapacity } from './plan';
import { divideReplicas, fitOf, paceReturn, type SpreadInput, type SpreadMember, type SpreadStrategy } from './spread';

const GI = 1024 ** 3;
/** A member with `cpu` free cores (and plenty of memory/pods) unless overridden. */
function member(name: string, cpuFree: number, extra: Partial<SpreadMember> = {}): SpreadMember {
  const current = extra.current ?? 0;
  return {
    name,
    healthy: true,
    allocatable: { cpu: 100, memory: 1000 * GI, pods: 1000 },
    // allocated includes the app's own current replicas (1 cpu each)
    allocated: { cpu: 100 - cpuFree + current, memory: 0, pods: current },
    ...extra,
  };
}
const req = { cpu: 1, memory: 0, pods: 1 };
const input = (desired: number, members: SpreadMember[], strategy: SpreadStrategy = 'capacity'): SpreadInput => ({ desired, strategy, request: req, members });

/** Observed capacity through the boundary (checkCapacity) on its way to divideReplicas, as the daemon and plan do. */
const checked = (i: SpreadInput): SpreadInput => ({
  ...i,
  members: i.members.map((m) => {
    const c = checkCapacity({ healthy: m.healthy, allocatable: m.allocatable, allocated: m.allocated }).capacity;
    return { ...m, healthy: c.healthy, allocatable: c.allocatable, allocated: c.allocated };
  }),
});

/**
 * fast-check's counterexample for "steady: converges" (seed -1231514834): one healthy member whose
 * allocated.memory is NaN, denormal requests. Read as 0, the unknown usage counted the app's own
 * replicas as free room again on every reconcile (2 became 3).
 */
const nanMemory = (current: number): SpreadInput => ({
  desired: 52,
  strategy: 'capacity',
  request: { cpu: 1.5168440051220986e-142, memory: 4e-323, pods: 0 },
  members: [
    { name: 'm0', healthy: true, selected: true, allocatable: { cpu: 4.550532013849451e-142, memory: 4e-323, pods: 0 }, allocated: { cpu: current * 1.5168440051220986e-142, memory: NaN, pods: 0 }, current, weight: 0 },
    ...['m1', 'm2', 'm3'].map((name) => ({ name, healthy: false, selected: false, allocatable: { cpu: 0, memory: 0, pods: 0 }, allocated: { cpu: 0, memory: 0, pods: 0 }, current: 0, weight: 0 })),
  ],
});

describe('divideReplicas — table', () => {
  const cases: { name: string; in: SpreadInput; want: Record<string, number>; unschedulable?: number }[] = [
    { name: 'fresh: proportional to fit', in: input(12, [member('a', 20), member('b', 10)]), want: { a: 8, b: 4 } },
    { name: 'fresh: tie broken by name', in: input(3, [member('b', 10), member('a', 10)]), want: { a: 2, b: 1 } },
    { name: 'total limited by fit, rest unschedulable', in: input(20, [member('a', 5), member('b', 3)]), want: { a: 5, b: 3 }, unschedulable: 12 },
    { name: 'unhealthy member gets nothing', in: input(6, [member('a', 10), member('b', 10, { healthy: false })]), want: { a: 6, b: 0 } },
    { name: 'not selected gets nothing (and is not listed)', in: input(6, [member('a', 10), member('b', 10, { selected: false })]), want: { a: 6 } },
    { name: 'not selected but running: scaled to 0', in: input(6, [member('a', 10), member('b', 10, { selected: false, current: 2 })]), want: { a: 6, b: 0 } },
    { name: 'max caps a member, rest goes elsewhere', in: input(10, [member('a', 90, { max: 3 }), member('b', 10)]), want: { a: 3, b: 7 } },
    { name: 'min floors a member', in: input(10, [member('a', 90), member('b', 10, { min: 4 })]), want: { a: 6, b: 4 } },
    { name: 'sum of mins above desired is split over the mins', in: input(3, [member('a', 10, { min: 2 }), member('b', 10, { min: 2 })]), want: { a: 2, b: 1 } },
    { name: 'min above fit is clamped to fit', in: input(10, [member('a', 90), member('b', 2, { min: 5 })]), want: { a: 8, b: 2 } },
    { name: 'current replicas count as free (allocated includes them)', in: input(4, [member('a', 4, { current: 4 }), member('b', 0)]), want: { a: 4, b: 0 } },
    { name: 'scale-up never lowers', in: input(12, [member('a', 10, { current: 6 }), member('b', 30, { current: 0 })]), want: { a: 6, b: 6 } },
    { name: 'scale-down never raises', in: input(4, [member('a', 10, { current: 1 }), member('b', 30, { current: 5 })]), want: { a: 1, b: 3 } },
    { name: 'unchanged total within tolerance keeps the split', in: input(10, [member('a', 10, { current: 4 }), member('b', 10, { current: 6 })]), want: { a: 4, b: 6 } },
    { name: 'unchanged total far from fair share is rebalanced', in: input(10, [member('a', 10, { current: 1 }), member('b', 10, { current: 9 })]), want: { a: 5, b: 5 } },
    { name: 'unhealthy member replicas move to healthy ones', in: input(9, [member('a', 30, { current: 3 }), member('b', 30, { current: 3, healthy: false }), member('c', 30, { current: 3 })]), want: { a: 5, b: 0, c: 4 } },
    { name: 'over fit is infeasible and fixed', in: input(6, [member('a', 2, { current: 4 }), member('b', 10, { current: 2 })]), want: { a: 2, b: 4 } },
    { name: 'weighted uses static weights', in: input(8, [member('a', 90, { weight: 3 }), member('b', 90, { weight: 1 })], 'weighted'), want: { a: 6, b: 2 } },
    { name: 'weighted respects fit', in: input(8, [member('a', 2, { weight: 3 }), member('b', 90, { weight: 1 })], 'weighted'), want: { a: 2, b: 6 } },
    { name: 'weighted zero weights everywhere falls back to equal', in: input(4, [member('a', 9, { weight: 0 }), member('b', 9, { weight: 0 })], 'weighted'), want: { a: 2, b: 2 } },
    { name: 'duplicate runs desired on every healthy member', in: input(3, [member('a', 10), member('b', 2), member('c', 10, { healthy: false })], 'duplicate'), want: { a: 3, b: 2, c: 0 }, unschedulable: 1 },
    { name: 'exact: failback goal ignores the current split', in: { ...input(10, [member('a', 10, { current: 4 }), member('b', 10, { current: 6 })]), exact: true }, want: { a: 5, b: 5 } },
    { name: 'no members', in: input(5, []), want: {}, unschedulable: 5 },
    { name: 'zero desired', in: input(0, [member('a', 10, { current: 3 })]), want: { a: 0 } },
    { name: 'NaN allocated (seed -1231514834): the member is rejected at the boundary', in: checked(nanMemory(0)), want: { m0: 0 }, unschedulable: 52 },
    { name: 'NaN allocated (seed -1231514834), running 2: rejected, its replicas are not counted as room', in: checked(nanMemory(2)), want: { m0: 0 }, unschedulable: 52 },
    { name: 'Infinity allocatable: rejected, replicas go where room is known', in: checked(input(4, [member('a', 10, { current: 2, allocatable: { cpu: Infinity, memory: GI, pods: 10 } }), member('b', 10)])), want: { a: 0, b: 4 } },
  ];
  it.each(cases)('$name', (c) => {
    const r = divideReplicas(c.in);
    expect(r.assignments).toEqual(c.want);
    expect(r.unschedulable).toBe(c.unschedulable ?? 0);
    if (r.unschedulable > 0) expect(r.unschedulableReason).toBeTruthy();
  });

  it('the contract example: bj1-a capped at 8, sh1-a limited by cpu', () => {
    const m = (name: string, cpu: number, mem: number, pods: number, acpu: number, amem: number, apods: number, extra: Partial<SpreadMember>): SpreadMember => ({
      name,
      healthy: true,
      allocatable: { cpu, memory: mem * GI, pods },
      allocated: { cpu: acpu, memory: amem * GI, pods: apods },
      current: 5,
      ...extra,
    });
    const r = divideReplicas({
      desired: 10,
      strategy: 'capacity',
      request: { cpu: 0.5, memory: 0.5 * GI, pods: 1 },
      members: [m('bj1-a', 64, 256, 1100, 20, 100, 300, { min: 2, max: 8 }), m('sh1-a', 32, 128, 550, 28, 64, 120, {})],
    });
    expect(r.assignments).toEqual({ 'bj1-a': 8, 'sh1-a': 2 });
    expect(r.reasons['sh1-a']).toBe('capacity: 11 more replicas fit (cpu)');
    expect(r.reasons['bj1-a']).toMatch(/^max: 8/);
  });

  it('fitOf names the limiting resource', () => {
    const m: SpreadMember = { name: 'a', healthy: true, allocatable: { cpu: 10, memory: 4 * GI, pods: 100 }, allocated: { cpu: 0, memory: 0, pods: 0 } };
    expect(fitOf(m, { cpu: 1, memory: GI, pods: 1 })).toEqual({ fit: 4, limit: 'memory' });
    expect(fitOf(m, { cpu: 0.1 + 0.2, memory: 0, pods: 0 }).fit).toBe(33);
  });

  it('does not mutate its input', () => {
    const members = [member('b', 10, { current: 2 }), member('a', 10)];
    const copy = structuredClone(members);
    divideReplicas(input(7, members));
    expect(members).toEqual(copy);
  });
});

describe('capacity boundary (checkCapacity)', () => {
  it('passes sound capacity through unchanged', () => {
    const c = { healthy: true, allocatable: { cpu: 4, memory: 8 * GI, pods: 110 }, allocated: { cpu: 0.5, memory: 0, pods: 3 } };
    expect(checkCapacity(c)).toEqual({ capacity: c, problems: [] });
  });

  it('names every amount that is not a finite number >= 0 and rejects the member (unhealthy, no capacity)', () => {
    const r = checkCapacity({ healthy: true, allocatable: { cpu: Infinity, memory: 4e-323, pods: -1 }, allocated: { cpu: 1, memory: NaN, pods: 0 } });
    expect(r.problems).toEqual(['allocatable.cpu is Infinity', 'allocated.memory is NaN', 'allocatable.pods is -1']);
    expect(r.capacity).toEqual({ healthy: false, allocatable: { cpu: 0, memory: 0, pods: 0 }, allocated: { cpu: 0, memory: 0, pods: 0 } });
  });

  it('the seed -1231514834 counterexample converges once capacity passes the boundary', () => {
    // The property's sequence: divide, feed the result back as current, divide twice more.
    const r1 = divideReplicas(checked(nanMemory(0)));
    const r2 = divideReplicas(checked(nanMemory(r1.assignments.m0!)));
    const r3 = divideReplicas(checked(nanMemory(r2.assignments.m0!)));
    expect([r1.assignments, r2.assignments, r3.assignments]).toEqual([{ m0: 0 }, { m0: 0 }, { m0: 0 }]);
  });
});

describe('paceReturn', () => {
  it('limits what a returning member gains and keeps the total', () => {
    const out = paceReturn({ a: 6, b: 0 }, { a: 3, b: 3 }, new Set(['b']), 1);
    expect(out).toEqual({ a: 5, b: 1 });
  });
  it('lets a scale-up through', () => {
    const out = paceReturn({ a: 2, b: 0 }, { a: 3, b: 5 }, new Set(['b']), 1);
    expect(out.a! + out.b!).toBe(8);
  });
});

// --- Properties. Capacity is generated as observed (NaN, ±Infinity, negative and denormal amounts
// included) and passes the boundary (checkCapacity) before divideReplicas, as in production.
/** An observed amount: mostly in [0, max] (denormals included), sometimes NaN, ±Infinity or negative. */
const amount = (max: number) =>
  fc.oneof({ weight: 6, arbitrary: fc.double({ min: 0, max, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -1) });
const arbMember = (name: string) =>
  fc.record({
    name: fc.constant(name),
    healthy: fc.boolean(),
    selected: fc.boolean(),
    allocatable: fc.record({ cpu: amount(200), memory: amount(1e12), pods: fc.integer({ min: 0, max: 500 }) }),
    allocated: fc.record({ cpu: amount(200), memory: amount(1e12), pods: fc.integer({ min: 0, max: 500 }) }),
    current: fc.integer({ min: 0, max: 60 }),
    weight: fc.integer({ min: 0, max: 10 }),
    min: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
    max: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
  });
const arbInput = fc
  .record({
    n: fc.integer({ min: 0, max: 6 }),
    desired: fc.integer({ min: 0, max: 120 }),
    strategy: fc.constantFrom<SpreadStrategy>('capacity', 'weighted'),
    request: fc.record({ cpu: fc.double({ min: 0, max: 4, noNaN: true }), memory: fc.double({ min: 0, max: 4e9, noNaN: true }), pods: fc.constantFrom(0, 1) }),
  })
  .chain(({ n, ...rest }) =>
    fc.tuple(...Array.from({ length: n }, (_, i) => arbMember(`m${i}`))).map(
      (members) =>
        ({
          ...rest,
          // allocated = other pods + this app's current replicas (the contract of SpreadMember.allocated)
          members: members.map((m) => withCurrent({ ...m, current: 0, ...(m.min !== undefined && m.max !== undefined && m.min > m.max ? { min: m.max } : {}) }, m.current, rest.request)),
        }) as SpreadInput,
    ),
  );

/** Sets a member's current replicas, moving `allocated` by the difference × request. */
function withCurrent(m: SpreadMember, current: number, request: SpreadInput['request']): SpreadMember {
  const d = current - (m.current ?? 0);
  return { ...m, current, allocated: { cpu: m.allocated.cpu + d * request.cpu, memory: m.allocated.memory + d * request.memory, pods: m.allocated.pods + d * request.pods } };
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
/** Caps of a checked input. */
const caps = (i: SpreadInput) => Object.fromEntries(i.members.map((m) => [m.name, Math.min(fitOf(m, i.request).fit, m.max ?? Infinity)]));
/** divideReplicas over observed (unchecked) input: through the boundary first. */
const divide = (i: SpreadInput) => divideReplicas(checked(i));

it('the generator produces non-finite capacity (the boundary is exercised)', () => {
  const samples = fc.sample(arbInput, { numRuns: 300, seed: 1 });
  const bad = samples.flatMap((i) => i.members).filter((m) => [m.allocatable.cpu, m.allocatable.memory, m.allocated.cpu, m.allocated.memory].some((v) => !Number.isFinite(v)));
  expect(bad.length).toBeGreaterThan(0);
});

describe('divideReplicas — properties', () => {
  it('sum = min(desired, fit); never above fit or max; min respected when reachable; no NaN/negative', () => {
    fc.assert(
      fc.property(arbInput, (raw) => {
        const i = checked(raw);
        const r = divideReplicas(i);
        const cap = caps(i);
        const fit = sum(cap);
        expect(sum(r.assignments)).toBe(Math.min(i.desired, fit));
        expect(r.unschedulable).toBe(i.desired - Math.min(i.desired, fit));
        const floors = i.members.reduce((s, m) => s + Math.min(m.min ?? 0, cap[m.name]!), 0);
        for (const m of i.members) {
          const a = (r.assignments[m.name] ?? 0);
          expect(Number.isInteger(a) && a >= 0).toBe(true);
          expect(a).toBeLessThanOrEqual(cap[m.name]!);
          if (floors <= i.desired) expect(a).toBeGreaterThanOrEqual(Math.min(m.min ?? 0, cap[m.name]!));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('within 1 of the proportional share when unconstrained (fresh, no min/max)', () => {
    fc.assert(
      fc.property(arbInput, (i0) => {
        const i: SpreadInput = checked({ ...i0, members: i0.members.map((m) => ({ ...withCurrent(m, 0, i0.request), min: undefined, max: undefined })) });
        const r = divideReplicas(i);
        const total = sum(r.assignments);
        const w = i.members.map((m) => (m.healthy && m.selected ? (i.strategy === 'capacity' ? fitOf(m, i.request).fit : m.weight ?? 1) : 0));
        const W = w.reduce((a, b) => a + b, 0);
        if (W === 0 || i.strategy === 'weighted') {
          // weighted: caps (fit) may bind; only check when none does
          if (W === 0) return;
          const shares = i.members.map((m, k) => (total * w[k]!) / W);
          if (i.members.some((m, k) => shares[k]! > caps(i)[m.name]!)) return;
        }
        i.members.forEach((m, k) => expect(Math.abs((r.assignments[m.name] ?? 0) - (total * w[k]!) / W)).toBeLessThan(1 + 1e-9));
      }),
      { numRuns: 2000 },
    );
  });

  it('steady monotonicity: scale-up never lowers, scale-down never raises a feasible member', () => {
    fc.assert(
      fc.property(arbInput, fc.integer({ min: -30, max: 30 }), (i0, delta) => {
        const first = divide(i0);
        // feed the result back as current, then change desired
        const raw: SpreadInput = { ...i0, desired: Math.max(0, sum(first.assignments) + delta), members: i0.members.map((m) => withCurrent(m, (first.assignments[m.name] ?? 0), i0.request)) };
        const i = checked(raw);
        const r = divideReplicas(i);
        const cap = caps(i);
        for (const m of i.members) {
          const cur = m.current!;
          const feasible = cur <= cap[m.name]! && cur >= Math.min(m.min ?? 0, cap[m.name]!);
          if (!feasible || !i.members.every((x) => x.current! <= cap[x.name]! && x.current! >= Math.min(x.min ?? 0, cap[x.name]!))) continue;
          if (delta > 0) expect((r.assignments[m.name] ?? 0)).toBeGreaterThanOrEqual(cur);
          if (delta < 0) expect((r.assignments[m.name] ?? 0)).toBeLessThanOrEqual(cur);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('steady: converges — at most one rebalance after a change, then re-running changes nothing', () => {
    fc.assert(
      fc.property(arbInput, (i0) => {
        const again = (prev: SpreadInput, r: ReturnType<typeof divideReplicas>): SpreadInput => ({ ...prev, members: prev.members.map((m) => withCurrent(m, (r.assignments[m.name] ?? 0), prev.request)) });
        const r1 = divide(i0);
        const i2 = again(i0, r1);
        const r2 = divide(i2);
        const r3 = divide(again(i2, r2));
        expect(r3.assignments).toEqual(r2.assignments);
      }),
      { numRuns: 3000 },
    );
  });

  it('deterministic, independent of member order', () => {
    fc.assert(
      fc.property(arbInput, (i) => {
        const a = divide(i);
        const b = divide({ ...i, members: [...i.members].reverse() });
        expect(JSON.stringify(a)).toBe(JSON.stringify(divide(i)));
        expect(b.assignments).toEqual(a.assignments);
      }),
      { numRuns: 1000 },
    );
  });

  it('duplicate: each healthy member runs min(desired, cap)', () => {
    fc.assert(
      fc.property(arbInput, (i0) => {
        const i = checked({ ...i0, strategy: 'duplicate' as const });
        const r = divideReplicas(i);
        const cap = caps(i);
        for (const m of i.members) expect(r.assignments[m.name] ?? 0).toBe(Math.min(i.desired, cap[m.name]!));
      }),
      { numRuns: 500 },
    );
  });
});

describe('divideReplicas — per node and Pending (issue 11)', () => {
  const none = { cpu: 0, memory: 0, pods: 0 };
  const room = (cpu: number) => ({ cpu, memory: 64 * GI, pods: 100 });
  const m = (name: string, nodes: number[] | undefined, extra: Partial<SpreadMember> = {}): SpreadMember => ({
    name,
    healthy: true,
    // Totals that would over-promise: the per-node room is what counts when nodes are given.
    allocatable: { cpu: 1000, memory: 1000 * GI, pods: 1000 },
    allocated: none,
    ...(nodes ? { nodes: nodes.map(room) } : {}),
    ...extra,
  });
  const three = { cpu: 3, memory: GI, pods: 1 };

  it.each<[string, SpreadInput, Record<string, number>, number]>([
    // 7 × 3 CPU: 4-CPU nodes hold one each; a 7-CPU node holds two (what the totals missed: 7 split 4/3).
    ['fragmentation: fit per node, not over the sum', { desired: 7, strategy: 'capacity', request: three, members: [m('a', [4, 4, 4]), m('b', [7, 4])] }, { a: 3, b: 3 }, 1],
    ['no eligible node: nothing fits there', { desired: 2, strategy: 'capacity', request: three, members: [m('a', []), m('b', [8])] }, { a: 0, b: 2 }, 0],
    ['Pending replicas do not count as running: the share moves', { desired: 4, strategy: 'capacity', request: three, members: [m('a', [0], { current: 4, pending: 2 }), m('b', [9])] }, { a: 2, b: 2 }, 0],
    ['Pending and no room elsewhere: the rest is unschedulable', { desired: 4, strategy: 'capacity', request: three, members: [m('a', [0], { current: 4, pending: 1 }), m('b', [2])] }, { a: 3, b: 0 }, 1],
    // Stale view right after a scale-down (current 1, two Pending pods not deleted yet, one bound): running is the bound pod.
    ['bound pods (running) win over current − pending', { desired: 4, strategy: 'capacity', request: three, members: [m('a', [0], { current: 1, pending: 2, running: 1 }), m('b', [9])] }, { a: 1, b: 3 }, 0],
    // current 4, only 3 pods bound yet, the 4th's room still free on the node: not counted twice.
    ['a replica not placed yet is not counted twice', { desired: 8, strategy: 'capacity', request: three, members: [m('a', [3], { current: 4, running: 3 }), m('b', [0])] }, { a: 4, b: 0 }, 4],
    ['Pending counts on totals too', { desired: 4, strategy: 'capacity', request: three, members: [m('a', undefined, { current: 4, pending: 4, allocatable: room(0), allocated: none }), m('b', [12])] }, { a: 0, b: 4 }, 0],
  ])('%s', (_, inp, want, unschedulable) => {
    const r = divideReplicas(inp);
    expect(r.assignments).toEqual(want);
    expect(r.unschedulable).toBe(unschedulable);
  });

  it('names the missing node as the limit', () => {
    const r = divideReplicas({ desired: 1, strategy: 'capacity', request: three, members: [m('a', [], { current: 1 }), m('b', [3])] });
    expect(r.reasons.a).toBe('capacity: 0 more replicas fit (no eligible node)');
  });
});
