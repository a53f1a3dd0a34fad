import { describe, expect, it } from 'vitest';
import { nodeSnapshot } from './fixtures';
import { eligibleRoom, nodeAdmits, pendingOf, placementOf, selectorMatches, tolerates, type NodeSnapshot, type PodPlacement, type UnschedulablePod } from './scheduling';

const node = nodeSnapshot;
const master = node({ name: 'm1', taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
const tolerateMaster = { tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] };
const affinity = (terms: unknown[]): PodPlacement => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms as never } } } });

describe('nodeAdmits (the scheduler filter rules)', () => {
  it.each<[string, NodeSnapshot, PodPlacement, boolean]>([
    ['plain worker', node(), {}, true],
    ['NotReady node', node({ ready: false }), {}, false],
    ['cordoned node', node({ unschedulable: true }), {}, false],
    ['cordoned, tolerating node.kubernetes.io/unschedulable', node({ unschedulable: true }), { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists' }] }, true],
    ['NoSchedule taint, no toleration', master, {}, false],
    ['NoSchedule taint tolerated (Exists)', master, tolerateMaster, true],
    ['NoExecute taint, no toleration', node({ taints: [{ key: 'edge', value: 'true', effect: 'NoExecute' }] }), {}, false],
    ['PreferNoSchedule is only a preference', node({ taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }), {}, true],
    ['Equal toleration with the wrong value', node({ taints: [{ key: 'edge', value: 'true', effect: 'NoSchedule' }] }), { tolerations: [{ key: 'edge', value: 'false', effect: 'NoSchedule' }] }, false],
    ['Equal toleration, right value, no effect (all effects)', node({ taints: [{ key: 'edge', value: 'true', effect: 'NoSchedule' }] }), { tolerations: [{ key: 'edge', value: 'true' }] }, true],
    ['toleration for another effect', master, { tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoExecute' }] }, false],
    ['empty key + Exists tolerates every taint', master, { tolerations: [{ operator: 'Exists' }] }, true],
    ['nodeSelector matches', node(), { nodeSelector: { zone: 'a' } }, true],
    ['nodeSelector does not match', node(), { nodeSelector: { zone: 'b' } }, false],
    ['affinity In', node(), affinity([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'c'] }] }]), true],
    ['affinity NotIn', node(), affinity([{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }]), false],
    ['affinity Exists / DoesNotExist', node(), affinity([{ matchExpressions: [{ key: 'zone', operator: 'Exists' }, { key: 'gpu', operator: 'DoesNotExist' }] }]), true],
    ['affinity Gt', node(), affinity([{ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }]), true],
    ['affinity Lt', node(), affinity([{ matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['4'] }] }]), false],
    ['terms are ORed', node(), affinity([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }]), true],
    ['an empty term matches nothing', node(), affinity([{}]), false],
  ])('%s', (_, n, pod, want) => {
    expect(nodeAdmits(n, pod)).toBe(want);
  });

  it('tolerates: Exists with a value-less taint, key mismatch', () => {
    expect(tolerates({ key: 'a', operator: 'Exists' }, { key: 'a', effect: 'NoSchedule' })).toBe(true);
    expect(tolerates({ key: 'b', operator: 'Exists' }, { key: 'a', effect: 'NoSchedule' })).toBe(false);
  });

  it('eligibleRoom: free room of the admitted nodes only, in node order', () => {
    const nodes = [master, node(), node({ name: 'n2', allocated: { cpu: 9, memory: 0, pods: 0 } })];
    expect(eligibleRoom(nodes, {})).toEqual([
      { cpu: 6, memory: 12, pods: 107 },
      { cpu: -1, memory: 16, pods: 110 },
    ]);
    expect(eligibleRoom(nodes, tolerateMaster)).toHaveLength(3);
  });

  it('placementOf keeps only the filter fields', () => {
    expect(placementOf({ containers: [], nodeSelector: { a: 'b' }, priority: 3 })).toEqual({ nodeSelector: { a: 'b' } });
    expect(placementOf({ affinity: { podAntiAffinity: {} } })).toEqual({});
  });
});

describe('pendingOf and selectors', () => {
  const pods: UnschedulablePod[] = [
    { namespace: 'shop', labels: { app: 'web', pod: '1' }, message: '0/5 nodes are available: 2 Insufficient cpu.' },
    { namespace: 'shop', labels: { app: 'web' }, message: 'second' },
    { namespace: 'other', labels: { app: 'web' }, message: 'elsewhere' },
    { namespace: 'shop', labels: { app: 'db' }, message: 'db' },
  ];
  it('counts the app namespace + selector matches, first message', () => {
    expect(pendingOf('shop', { matchLabels: { app: 'web' } }, pods)).toEqual({ count: 2, message: '0/5 nodes are available: 2 Insufficient cpu.' });
    expect(pendingOf('shop', { matchLabels: { app: 'cache' } }, pods)).toEqual({ count: 0 });
  });
  it('matchExpressions', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }, { key: 'pod', operator: 'DoesNotExist' }] }, { app: 'web' })).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, { app: 'web' })).toBe(false);
  });
});
