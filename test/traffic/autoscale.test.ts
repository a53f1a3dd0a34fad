// Pure autoscale decisions: the formula, clamp, tolerance, scale-down stabilisation (driven clock),
// and failed/empty/NaN queries keeping the count with an alert.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatError, parseFederation } from '../../cluster-mgr/config/index';
import { decideReplicas, recommend, type AutoscaleSpec, type AutoscaleState, type QueryOutcome } from '../../cluster-mgr/core/autoscale';
import { AlertName } from '../../cluster-mgr/contracts/alerts';
import { scalarFromResponse } from '../../cluster-mgr/adapters/prometheus';
import { sharedPath } from '../lab/shared';

const spec: AutoscaleSpec = { namespace: 'shop', app: 'web', targetPerReplica: 50, min: 2, max: 40 };
const v = (value: number | undefined): QueryOutcome => ({ ok: true, value });

describe('recommend (formula + clamp)', () => {
  it.each([
    ['4 pods at 80 % → 320 / 50 → 7', 320, 7],
    ['exact multiple', 300, 6],
    ['float noise does not add one', 0.1 * 3 * 1000, 6],
    ['below min → min', 10, 2],
    ['zero → min', 0, 2],
    ['above max → max', 5000, 40],
    ['negative → min', -20, 2],
  ])('%s', (_name, result, want) => {
    expect(recommend(result, spec)).toBe(want);
  });
});

describe('decideReplicas', () => {
  const table: { name: string; current: number; outcome: QueryOutcome; want: number; alert?: boolean }[] = [
    { name: 'scale up by the formula', current: 4, outcome: v(320), want: 7 },
    { name: 'within +10 % keeps', current: 6, outcome: v(330), want: 6 },
    { name: 'within −10 % keeps', current: 6, outcome: v(270), want: 6 },
    { name: 'just outside +10 % scales', current: 6, outcome: v(331), want: 7 },
    { name: 'clamped at max', current: 10, outcome: v(10_000), want: 40 },
    { name: 'current below min is lifted', current: 0, outcome: v(0), want: 2 },
    { name: 'failed query keeps current', current: 5, outcome: { ok: false, error: 'connection refused' }, want: 5, alert: true },
    { name: 'empty result keeps current', current: 5, outcome: v(undefined), want: 5, alert: true },
    { name: 'NaN keeps current', current: 5, outcome: v(NaN), want: 5, alert: true },
    { name: 'Infinity keeps current', current: 5, outcome: v(Infinity), want: 5, alert: true },
    { name: 'first scale-down is applied (no earlier higher recommendation)', current: 8, outcome: v(100), want: 2 },
  ];
  it.each(table)('$name', ({ current, outcome, want, alert }) => {
    const d = decideReplicas({ spec, current, outcome, now: 1_000_000 });
    expect(d.replicas).toBe(want);
    if (alert) {
      expect(d.fire?.name).toBe(AlertName.AutoscaleQueryFailing);
      expect(d.fire?.labels).toEqual({ namespace: 'shop', app: 'web' });
      expect(d.state.failing).toBe(true);
    } else {
      expect(d.fire).toBeUndefined();
    }
  });

  it('scale-down waits 5 minutes for the highest recommendation in the window (driven clock)', () => {
    let state: AutoscaleState | undefined;
    let current = 4;
    const step = (now: number, value: number) => {
      const d = decideReplicas({ spec, current, outcome: v(value), now, state });
      state = d.state;
      current = d.replicas;
      return d;
    };
    const t0 = 10_000_000;
    expect(step(t0, 500).replicas).toBe(10); // up at once
    expect(step(t0 + 30_000, 200).replicas).toBe(10); // wants 4, held by the 10 at t0
    expect(step(t0 + 60_000, 300).replicas).toBe(10); // wants 6, still held
    expect(step(t0 + 299_000, 200).replicas).toBe(10);
    // t0's 10 left the window; highest left is 6 (t0+60 s).
    expect(step(t0 + 300_001, 200).replicas).toBe(6);
    // t0+60 s's 6 leaves at t0+360 s: then the 4s remain.
    expect(step(t0 + 360_001, 200).replicas).toBe(4);
    // Scale-up is never delayed.
    expect(step(t0 + 361_000, 1000).replicas).toBe(20);
  });

  it('stabilisation window is configurable', () => {
    const s = { ...spec, scaleDownStabilizationMs: 0 };
    const d1 = decideReplicas({ spec: s, current: 4, outcome: v(500), now: 0 });
    const d2 = decideReplicas({ spec: s, current: d1.replicas, outcome: v(100), now: 1, state: d1.state });
    expect(d2.replicas).toBe(2);
  });

  it('a failed query does not erase the window; recovery resolves the alert', () => {
    const d1 = decideReplicas({ spec, current: 4, outcome: v(500), now: 0 });
    const d2 = decideReplicas({ spec, current: d1.replicas, outcome: { ok: false, error: 'HTTP 503' }, now: 10_000, state: d1.state });
    expect(d2.replicas).toBe(10);
    expect(d2.fire?.description).toBe('HTTP 503');
    const d3 = decideReplicas({ spec, current: d2.replicas, outcome: v(100), now: 20_000, state: d2.state });
    expect(d3.replicas).toBe(10); // still stabilised by the 10 at t=0
    expect(d3.resolve?.name).toBe(AlertName.AutoscaleQueryFailing);
    expect(d3.state.failing).toBe(false);
  });

  it('does not mutate the given state', () => {
    const state: AutoscaleState = Object.freeze({ recommendations: Object.freeze([{ at: 0, replicas: 9 }]), failing: false });
    const d = decideReplicas({ spec, current: 9, outcome: v(100), now: 1, state });
    expect(state.recommendations).toHaveLength(1);
    expect(d.state.recommendations).toHaveLength(2);
  });

  it('bad specs are rejected where they are read (the Federation loader), naming the field and the value', () => {
    const example = readFileSync(sharedPath('contract', 'federation.example.yaml'), 'utf8');
    const errors = (edit: (t: string) => string) => {
      const r = parseFederation(edit(example), 'f.yaml');
      return r.ok ? [] : r.errors.map(formatError);
    };
    expect(errors((t) => t)).toEqual([]);
    expect(errors((t) => t.replace('        min: 2\n        max: 40', '        min: 50\n        max: 40'))).toEqual([
      'f.yaml:55:14 spec.apps[0].autoscale.min: autoscale min 50 is greater than max 40: set min ≤ max',
    ]);
    expect(errors((t) => t.replace('        targetPerReplica: 50', '        targetPerReplica: 0')).join('\n')).toMatch(/spec\.apps\[0\]\.autoscale\.targetPerReplica: 0 /);
  });
});

describe('Prometheus response → scalar', () => {
  it.each([
    ['scalar', { status: 'success', data: { resultType: 'scalar', result: [1, '42.5'] } }, 42.5],
    ['one-sample vector', { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '320'] }] } }, 320],
    ['multi-sample vector is summed', { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '1'] }, { metric: {}, value: [1, '2'] }] } }, 3],
    ['empty vector', { status: 'success', data: { resultType: 'vector', result: [] } }, undefined],
    ['NaN sample', { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, 'NaN'] }] } }, NaN],
  ] as const)('%s', (_n, body, want) => {
    expect(scalarFromResponse(body as never)).toEqual(want);
  });
  it('errors and matrices reject with the reason', () => {
    expect(() => scalarFromResponse({ status: 'error', errorType: 'bad_data', error: 'parse error at char 4' })).toThrow(/bad_data parse error at char 4/);
    expect(() => scalarFromResponse({ status: 'success', data: { resultType: 'matrix', result: [] } })).toThrow(/instant vector or scalar/);
  });
});
