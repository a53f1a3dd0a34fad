import { describe, expect, it } from 'vitest';
import { EventRoutes, nodeSchedulingChanged, podDeployment, type AppRoute, type PodRef } from './events';
import { nodeSnapshot } from './fixtures';

const app = (key: string, o: Partial<AppRoute> = {}): AppRoute => {
  const [namespace, name] = key.split('/') as [string, string];
  return { key, namespace, deployments: [name, `${name}-canary`], selector: { matchLabels: { app: name } }, placement: {}, ...o };
};

const routes = new EventRoutes([
  app('shop/web'),
  app('shop/api'),
  app('shop/worker', { deployments: ['jobs'], selector: { matchLabels: { tier: 'jobs' } } }),
  app('shop/all', { selector: { matchExpressions: [{ key: 'shared', operator: 'Exists' }] } }),
  app('bank/web'),
  app('bank/edge', { placement: { nodeSelector: { role: 'edge' }, tolerations: [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }] } }),
  app('bank/gpu', { placement: { nodeSelector: { gpu: 'yes' } } }),
]);

const rs = (name: string) => [{ kind: 'ReplicaSet', name, controller: true }];
const pod = (namespace: string, labels: Record<string, string>, ownerReferences?: PodRef['ownerReferences']): PodRef => ({ namespace, labels, ...(ownerReferences ? { ownerReferences } : {}) });

describe('podDeployment: the Deployment behind a pod', () => {
  it.each([
    ['ReplicaSet owner minus the hash', pod('shop', { 'pod-template-hash': '7d9f' }, rs('web-7d9f')), 'web'],
    ['a name with dashes', pod('shop', { 'pod-template-hash': 'abc12' }, rs('web-canary-abc12')), 'web-canary'],
    ['no hash label', pod('shop', {}, rs('web-7d9f')), undefined],
    ['the hash does not end the owner name', pod('shop', { 'pod-template-hash': 'zzz' }, rs('web-7d9f')), undefined],
    ['owner is the hash alone', pod('shop', { 'pod-template-hash': 'zzz' }, rs('-zzz')), undefined],
    ['not a ReplicaSet (StatefulSet)', pod('shop', { 'pod-template-hash': '7d9f' }, [{ kind: 'StatefulSet', name: 'web-7d9f', controller: true }]), undefined],
    ['a non-controller owner', pod('shop', { 'pod-template-hash': '7d9f' }, [{ kind: 'ReplicaSet', name: 'web-7d9f', controller: false }]), undefined],
    ['no owner', pod('shop', { 'pod-template-hash': '7d9f' }), undefined],
  ])('%s', (_, p, want) => {
    expect(podDeployment(p)).toBe(want);
  });
});

describe('EventRoutes.forPod: a pod event requeues its own app only', () => {
  it.each([
    ['owned by web (owner reference)', pod('shop', { app: 'web', 'pod-template-hash': 'h1' }, rs('web-h1')), ['shop/web']],
    ['owned by web\'s canary', pod('shop', { app: 'web', version: 'v2', 'pod-template-hash': 'h2' }, rs('web-canary-h2')), ['shop/web']],
    ['owned by worker (Deployment name ≠ app name)', pod('shop', { tier: 'jobs', 'pod-template-hash': 'h3' }, rs('jobs-h3')), ['shop/worker']],
    ['the owner wins over labels that other apps select', pod('shop', { app: 'api', shared: '1', 'pod-template-hash': 'h4' }, rs('web-h4')), ['shop/web']],
    ['no owner: by selector in its namespace', pod('shop', { app: 'api' }), ['shop/api']],
    ['no owner: every app whose selector matches', pod('shop', { app: 'web', shared: 'x' }), ['shop/web', 'shop/all']],
    ['same labels in another namespace', pod('bank', { app: 'web' }), ['bank/web']],
    ['an owner that is no app falls back to labels', pod('shop', { app: 'api', 'pod-template-hash': 'h5' }, rs('other-h5')), ['shop/api']],
    ['a pod of no app (another workload)', pod('shop', { app: 'postgres' }), []],
    ['a namespace without apps', pod('kube-system', { app: 'web' }), []],
  ])('%s', (_, p, want) => {
    expect(routes.forPod(p)).toEqual(want);
  });
});

const node = nodeSnapshot;
const labels = { 'kubernetes.io/hostname': 'n1', zone: 'a', gen: '5' };

describe('nodeSchedulingChanged', () => {
  it.each([
    ['identical', node(), node(), false],
    ['only the pods on it (allocated) differ: pod events cover them', node(), node({ allocated: { cpu: 5, memory: 1, pods: 9 } }), false],
    ['Ready → NotReady', node(), node({ ready: false }), true],
    ['cordoned', node(), node({ unschedulable: true }), true],
    ['a taint added', node(), node({ taints: [{ key: 'k', effect: 'NoSchedule' }] }), true],
    ['a taint value changed', node({ taints: [{ key: 'k', value: 'a', effect: 'NoSchedule' }] }), node({ taints: [{ key: 'k', value: 'b', effect: 'NoSchedule' }] }), true],
    ['same taint, value absent vs empty', node({ taints: [{ key: 'k', effect: 'NoSchedule' }] }), node({ taints: [{ key: 'k', value: '', effect: 'NoSchedule' }] }), false],
    ['a label added', node(), node({ labels: { ...labels, gpu: 'yes' } }), true],
    ['a label value changed', node(), node({ labels: { ...labels, zone: 'b' } }), true],
    ['allocatable changed', node(), node({ allocatable: { cpu: 4, memory: 16, pods: 110 } }), true],
    ['added', undefined, node(), true],
    ['deleted', node(), undefined, true],
    ['neither', undefined, undefined, false],
  ])('%s → %s', (_, a, b, want) => {
    expect(nodeSchedulingChanged(a, b)).toBe(want);
  });
});

describe('EventRoutes.forNode: only apps whose room on that node can change', () => {
  const plain = ['shop/web', 'shop/api', 'shop/worker', 'shop/all', 'bank/web'];
  const edgeTaint = { key: 'edge', effect: 'NoSchedule' };
  it.each([
    ['a heartbeat (nothing scheduling-relevant changed)', node(), node(), []],
    ['a plain worker goes NotReady: apps without a nodeSelector', node(), node({ ready: false }), plain],
    ['a plain worker comes back Ready', node({ ready: false }), node(), plain],
    ['a NotReady node changes allocatable: nobody may land there', node({ ready: false }), node({ ready: false, allocatable: { cpu: 1, memory: 1, pods: 1 } }), []],
    ['an edge node (tainted) is cordoned: only the app tolerating it', node({ labels: { role: 'edge' }, taints: [edgeTaint] }), node({ labels: { role: 'edge' }, taints: [edgeTaint], unschedulable: true }), ['bank/edge']],
    ['a worker gains gpu=yes: plain apps and the gpu app', node(), node({ labels: { ...labels, gpu: 'yes' } }), [...plain, 'bank/gpu']],
    ['a gpu node removed', node({ labels: { gpu: 'yes' } }), undefined, [...plain, 'bank/gpu']],
    ['a tainted master added: nobody tolerates it', undefined, node({ taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }), []],
  ])('%s', (_, a, b, want) => {
    expect(routes.forNode(a, b).sort()).toEqual([...want].sort());
  });
});
