// Pure building blocks of the simulator: patches, field ownership, selectors, quantities, ages.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../cluster-mgr/sim/errors';
import { changedFields, decodeFieldsV1, encodeFieldsV1, jsonPatch, leafFields, mergePatch, strategicMergePatch } from '../../cluster-mgr/sim/patch';
import { parseQuantity } from '../../cluster-mgr/sim/quantity';
import { fieldMatcher, labelMatcher, selectorMatches } from '../../cluster-mgr/sim/selectors';
import { humanAge } from '../../cluster-mgr/sim/table';
import { intOrPercent, podRequests, rolloutStep, templateHash } from '../../cluster-mgr/sim/controllers';

describe('mergePatch (RFC 7386 examples)', () => {
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j + %j = %j', (target, patch, want) => {
    expect(mergePatch(target, patch)).toEqual(want);
  });

  it('does not mutate its inputs', () => {
    const t = { a: { b: 1 } };
    mergePatch(t, { a: { b: 2 } });
    expect(t).toEqual({ a: { b: 1 } });
  });
});

describe('strategicMergePatch (subset)', () => {
  it('merges named lists by name and drops $ directives', () => {
    const cur = { spec: { containers: [{ name: 'a', image: '1' }, { name: 'b', image: '1' }] } };
    const out = strategicMergePatch(cur, { spec: { $setElementOrder: [], containers: [{ name: 'b', image: '2' }, { name: 'c', image: '3' }] } });
    expect(out).toEqual({ spec: { containers: [{ name: 'a', image: '1' }, { name: 'b', image: '2' }, { name: 'c', image: '3' }] } });
    expect(strategicMergePatch(cur, { spec: { containers: [{ name: 'a', $patch: 'delete' }] } })).toEqual({ spec: { containers: [{ name: 'b', image: '1' }] } });
    expect(strategicMergePatch({ a: { x: 1, y: 2 } }, { a: { $patch: 'replace', z: 3 } })).toEqual({ a: { z: 3 } });
  });
});

describe('jsonPatch (RFC 6902)', () => {
  it.each([
    [{ a: 1 }, [{ op: 'add', path: '/b', value: 2 }], { a: 1, b: 2 }],
    [{ a: [1, 2] }, [{ op: 'add', path: '/a/1', value: 9 }], { a: [1, 9, 2] }],
    [{ a: [1, 2] }, [{ op: 'add', path: '/a/-', value: 3 }], { a: [1, 2, 3] }],
    [{ a: 1, b: 2 }, [{ op: 'remove', path: '/a' }], { b: 2 }],
    [{ a: 1 }, [{ op: 'replace', path: '/a', value: 5 }], { a: 5 }],
    [{ a: { b: 1 } }, [{ op: 'move', from: '/a/b', path: '/c' }], { a: {}, c: 1 }],
    [{ a: 1 }, [{ op: 'copy', from: '/a', path: '/b' }], { a: 1, b: 1 }],
    [{ 'a/b': 1 }, [{ op: 'replace', path: '/a~1b', value: 2 }], { 'a/b': 2 }],
    [{ a: 1 }, [{ op: 'test', path: '/a', value: 1 }], { a: 1 }],
  ])('%j with %j', (doc, ops, want) => {
    expect(jsonPatch(doc, ops)).toEqual(want);
  });

  it.each([
    [{ a: 1 }, [{ op: 'test', path: '/a', value: 2 }], 422],
    [{ a: 1 }, [{ op: 'remove', path: '/x' }], 422],
    [{ a: 1 }, [{ op: 'add', path: '/x/y', value: 1 }], 422],
    [{ a: 1 }, [{ op: 'nope', path: '/a' }], 400],
    [{ a: 1 }, { op: 'add' }, 400],
  ])('%j with %j fails with %i', (doc, ops, code) => {
    try {
      jsonPatch(doc, ops);
      expect.unreachable('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).code).toBe(code);
    }
  });
});

describe('field sets', () => {
  const obj = { apiVersion: 'v1', kind: 'X', metadata: { name: 'n', labels: { a: '1' }, uid: 'u' }, spec: { r: 1, list: [1, 2], empty: {} }, status: { s: 1 } };
  it('leafFields covers spec leaves, lists whole, labels; not identity or status', () => {
    const f = [...leafFields(obj)].map((k) => k.split('\u0000').join('.')).sort();
    expect(f).toEqual(['metadata.labels.a', 'spec.empty', 'spec.list', 'spec.r']);
  });
  it('fieldsV1 round-trips', () => {
    const f = leafFields(obj);
    expect(encodeFieldsV1(f)).toEqual({ 'f:metadata': { 'f:labels': { 'f:a': {} } }, 'f:spec': { 'f:empty': {}, 'f:list': {}, 'f:r': {} } });
    expect(decodeFieldsV1(encodeFieldsV1(f))).toEqual(f);
    expect(decodeFieldsV1({ 'f:spec': { '.': {}, 'f:x': {} } })).toEqual(new Set(['spec\u0000x']));
  });
  it('changedFields finds set, changed and removed leaves', () => {
    const after = { ...obj, spec: { r: 2, list: [1, 2], extra: 'y' } };
    const f = [...changedFields(obj, after)].map((k) => k.split('\u0000').join('.')).sort();
    expect(f).toEqual(['spec.empty', 'spec.extra', 'spec.r']);
  });
});

describe('selectors', () => {
  const o = { metadata: { name: 'n', namespace: 'ns', labels: { app: 'web', tier: 'fe' } }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } };
  const cases = {
    label: { match: labelMatcher, want: { 'app=web': true, 'app==web': true, 'app!=web': false, 'app in (web,db)': true, 'app notin (web)': false, tier: true, '!tier': false, 'missing!=x': true, 'app=web,tier=be': false, '': true } },
    field: { match: fieldMatcher, want: { 'metadata.name=n': true, 'spec.nodeName=n1,status.phase!=Failed,status.phase!=Succeeded': true, 'status.phase=Pending': false, 'metadata.namespace==ns': true } },
  };
  it.each(Object.entries(cases).flatMap(([kind, c]) => Object.entries(c.want).map(([sel, want]) => [kind as keyof typeof cases, sel, want] as const)))(
    '%s selector %j → %s',
    (kind, sel, want) => {
      expect(cases[kind].match(sel)(o)).toBe(want);
    },
  );
  it('structured selectors', () => {
    expect(selectorMatches({ matchLabels: { app: 'web' } }, { app: 'web' })).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] }, { app: 'web' })).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, { app: 'web' })).toBe(true);
  });
});

describe('quantities, requests, hashes, ages', () => {
  it.each([
    ['500m', 0.5],
    ['2', 2],
    ['1.5', 1.5],
    ['1Ki', 1024],
    ['512Mi', 512 * 2 ** 20],
    ['1G', 1e9],
    ['1e3', 1000],
    ['bad', undefined],
    ['1Xi', undefined],
  ])('parseQuantity(%j) = %s', (q, want) => {
    expect(parseQuantity(q)).toBe(want);
  });
  it('podRequests sums containers; limits stand in for missing requests', () => {
    expect(podRequests({ containers: [{ resources: { requests: { cpu: '250m', memory: '1Gi' } } }, { resources: { limits: { cpu: '1', memory: '1Gi' } } }] })).toEqual({
      cpu: 1250,
      memory: 2 * 2 ** 30,
    });
  });
  it('templateHash is stable and changes with the template', () => {
    expect(templateHash({ a: 1 })).toBe(templateHash({ a: 1 }));
    expect(templateHash({ a: 1 })).not.toBe(templateHash({ a: 2 }));
    expect(templateHash({ a: 1 })).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  });
  it.each([
    [5, '5s'],
    [119, '119s'],
    [150, '2m30s'],
    [600, '10m'],
    [3 * 3600 + 60, '3h1m'],
    [10 * 3600, '10h'],
    [3 * 86400 + 3600, '3d1h'],
    [30 * 86400, '30d'],
  ])('humanAge(%i s) = %s', (s, want) => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(humanAge(new Date(now - s * 1000).toISOString(), now)).toBe(want);
  });
});

describe('rolloutStep', () => {
  const rs = (replicas: number, ready = replicas, pods = replicas) => ({ replicas, ready, pods });
  it.each([
    ['fresh deployment', { want: 4, current: undefined, old: [] }, { current: 4, old: [] }],
    ['surge and first scale-down in one step', { want: 4, current: rs(0, 0, 0), old: [rs(4)] }, { current: 1, old: [3] }],
    ['new not ready yet: old kept (maxUnavailable 1 allows one)', { want: 4, current: rs(1, 0), old: [rs(4)] }, { current: 1, old: [3] }],
    ['new ready: old scales down within the budget', { want: 4, current: rs(1, 1), old: [rs(3)] }, { current: 2, old: [2] }],
    ['not-ready old pods go first', { want: 4, current: rs(2, 0), old: [rs(2, 0)] }, { current: 3, old: [0] }],
    ['done', { want: 4, current: rs(4), old: [rs(0, 0, 0)] }, { current: 4, old: [0] }],
    ['scaled to zero', { want: 0, current: rs(2), old: [rs(1)] }, { current: 0, old: [0] }],
  ])('%s', (_n, input, want) => {
    expect(rolloutStep({ strategy: 'RollingUpdate', maxSurge: 1, maxUnavailable: 1, ...input })).toEqual(want);
  });
  it('Recreate: old to zero, new starts once the old pods are gone', () => {
    expect(rolloutStep({ want: 3, strategy: 'Recreate', maxSurge: 0, maxUnavailable: 0, current: undefined, old: [rs(3)] })).toEqual({ current: 0, old: [0] });
    expect(rolloutStep({ want: 3, strategy: 'Recreate', maxSurge: 0, maxUnavailable: 0, current: rs(0, 0, 0), old: [rs(0, 0, 0)] })).toEqual({ current: 3, old: [0] });
  });
  it('never exceeds want + maxSurge pods, and makes progress with maxSurge = maxUnavailable = 0', () => {
    const s = rolloutStep({ want: 10, strategy: 'RollingUpdate', maxSurge: 3, maxUnavailable: 2, current: rs(0, 0, 0), old: [rs(10)] });
    expect(s.current + s.old[0]!).toBeLessThanOrEqual(13);
    const z = rolloutStep({ want: 2, strategy: 'RollingUpdate', maxSurge: 0, maxUnavailable: 0, current: rs(0, 0, 0), old: [rs(2)] });
    expect(z).toEqual({ current: 0, old: [1] });
  });
  it.each([
    ['25%', 4, true, 1],
    ['25%', 4, false, 1],
    ['25%', 3, true, 1],
    ['25%', 3, false, 0],
    [2, 10, true, 2],
    ['50%', 5, true, 3],
  ])('intOrPercent(%j of %i, up=%s) = %i', (v, total, up, want) => {
    expect(intOrPercent(v, total, up)).toBe(want);
  });
});
