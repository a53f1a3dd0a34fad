// Canary weight stepping: tables for the step lists and plans, fast-check properties for the
// invariants (weights always sum to 100; promote then rollback returns the original object).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BASELINE_ANNOTATION, canaryPlan, checkSteps, readWeights, stepsDown, stepsUp, type VirtualServiceObject } from './canary';

const vs = (canary: number, extra: { annotations?: Record<string, string>; stableFirst?: boolean } = {}): VirtualServiceObject => {
  const host = 'web.shop.svc.cluster.local';
  const route = [
    { destination: { host, subset: 'stable' }, weight: 100 - canary },
    { destination: { host, subset: 'canary' }, weight: canary },
  ];
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'web', namespace: 'shop', ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: { hosts: [host], http: [{ name: 'canary', route: extra.stableFirst === false ? route.reverse() : route }] },
  };
};
const weights = (o: VirtualServiceObject) => {
  const r = readWeights(o);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const plan = (o: VirtualServiceObject, dir: 'promote' | 'rollback', steps?: number[]) => {
  const r = canaryPlan(o, dir, steps);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe('step lists', () => {
  it.each([
    [0, [10, 25, 50, 100], [10, 25, 50, 100]],
    [10, [10, 25, 50, 100], [25, 50, 100]],
    [30, [10, 25, 50, 100], [50, 100]],
    [0, [20, 40], [20, 40, 100]],
    [100, [10, 50], []],
  ])('up from %i with %j → %j', (from, steps, want) => expect(stepsUp(from, steps)).toEqual(want));
  it.each([
    [100, 0, [10, 25, 50, 100], [50, 25, 10, 0]],
    [100, 10, [10, 25, 50, 100], [50, 25, 10]],
    [30, 0, [10, 25, 50, 100], [25, 10, 0]],
    [0, 0, [10, 25, 50, 100], []],
    [5, 20, [10, 50], [20]],
  ])('down from %i to %i with %j → %j', (from, to, steps, want) => expect(stepsDown(from, to, steps)).toEqual(want));
  it.each([
    [[], /empty/],
    [[0, 50], /not a whole percentage/],
    [[10, 101], /not a whole percentage/],
    [[50, 20], /increase strictly/],
    [[10.5], /not a whole percentage/],
  ])('rejects %j', (steps, msg) => expect(checkSteps(steps)).toMatch(msg));
});

describe('canaryPlan', () => {
  it('promotes from 0 in the default steps, recording the baseline', () => {
    const p = plan(vs(0), 'promote');
    expect(p.map((o) => weights(o).canary)).toEqual([10, 25, 50, 100]);
    expect(p.map((o) => weights(o).stable)).toEqual([90, 75, 50, 0]);
    for (const o of p) expect((o.metadata!.annotations as Record<string, string>)[BASELINE_ANNOTATION]).toBe('0');
  });
  it('rolls back to the recorded baseline and drops the annotation on the last step', () => {
    const p = plan(vs(100, { annotations: { [BASELINE_ANNOTATION]: '10', team: 'a' } }), 'rollback');
    expect(p.map((o) => weights(o).canary)).toEqual([50, 25, 10]);
    expect(p.at(-1)!.metadata!.annotations).toEqual({ team: 'a' });
  });
  it('rolls back to 0 without a baseline; nothing to do at 0', () => {
    expect(plan(vs(30), 'rollback').map((o) => weights(o).canary)).toEqual([25, 10, 0]);
    expect(plan(vs(0), 'rollback')).toEqual([]);
  });
  it('does not change the caller object', () => {
    const o = vs(10);
    const copy = structuredClone(o);
    plan(o, 'promote');
    expect(o).toEqual(copy);
  });
  it.each([
    ['no canary route', { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web', namespace: 'shop' }, spec: { http: [{ route: [{ destination: { host: 'h' } }] }] } }, /shop\/web has no HTTP route to the "canary" subset/],
    ['weights not summing to 100', { ...vs(10), spec: { http: [{ route: [{ destination: { subset: 'stable' }, weight: 80 }, { destination: { subset: 'canary' }, weight: 10 }] }] } }, /stable 80 \+ canary 10 ≠ 100/],
  ])('refuses %s', (_n, o, msg) => {
    const r = canaryPlan(o, 'promote');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(msg);
  });
});

const stepsArb = fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 8 }).map((a) => a.sort((x, y) => x - y));
const objArb = fc.record({
  canary: fc.integer({ min: 0, max: 100 }),
  stableFirst: fc.boolean(),
  annotations: fc.option(fc.dictionary(fc.constantFrom('team', 'owner', 'note'), fc.string({ maxLength: 5 }), { minKeys: 1 }), { nil: undefined }),
});

describe('properties', () => {
  it('every step of promote and rollback has weights that sum to 100, moving one way', () => {
    fc.assert(
      fc.property(objArb, stepsArb, fc.constantFrom('promote' as const, 'rollback' as const), (o, steps, dir) => {
        const start = vs(o.canary, o);
        let prev = o.canary;
        for (const step of plan(start, dir, steps)) {
          const w = weights(step);
          expect(w.stable + w.canary).toBe(100);
          expect(w.stable).toBeGreaterThanOrEqual(0);
          if (dir === 'promote') expect(w.canary).toBeGreaterThanOrEqual(prev);
          else expect(w.canary).toBeLessThanOrEqual(prev);
          prev = w.canary;
        }
        if (dir === 'promote') expect(prev).toBe(100);
      }),
    );
  });
  it('promote then rollback returns the original object', () => {
    fc.assert(
      fc.property(objArb, stepsArb, stepsArb, (o, up, down) => {
        const original = vs(o.canary, o);
        const promoted = plan(original, 'promote', up).at(-1)!;
        const back = plan(promoted, 'rollback', down).at(-1)!;
        expect(back).toEqual(original);
      }),
    );
  });
  it('a promote interrupted after any step still rolls back to the original', () => {
    fc.assert(
      fc.property(objArb, stepsArb, fc.nat(), (o, steps, cut) => {
        const original = vs(o.canary, o);
        const p = plan(original, 'promote', steps);
        const mid = p[cut % p.length]!;
        const r = plan(mid, 'rollback', steps);
        expect(r.length === 0 ? mid : r.at(-1)).toEqual(original);
      }),
    );
  });
});
