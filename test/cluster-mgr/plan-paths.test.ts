// ONE input path: what the daemon decides from its informer caches (adapters/kube capacityOf →
// core/plan spreadInputFor → divideReplicas) equals what `cluster-mgr plan` prints for a capacity
// file holding the same snapshot (capacityFileEntry → CapacitySchema → planAll), on random clusters:
// tainted and cordoned and NotReady nodes, pods bound and Pending, apps with tolerations, node
// selectors, init containers and limits-only containers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capacityOf } from '../../cluster-mgr/adapters/kube';
import { AppSchema, CapacitySchema, type App } from '../../cluster-mgr/config/schema';
import { capacityFileEntry, checkCapacity, planAll, spreadInputFor, withSchedulerReason, type MemberCapacity } from '../../cluster-mgr/core/plan';
import { divideReplicas } from '../../cluster-mgr/core/spread';
import type { KubeObject } from '../../cluster-mgr/contracts/index';

const MASTER = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };
const EDGE = { key: 'node-role.kubernetes.io/edge', value: 'true', effect: 'NoExecute' };

const nodeArb = (name: string) =>
  fc
    .record({
      zone: fc.constantFrom('a', 'b'),
      taints: fc.subarray([MASTER, EDGE]),
      cordoned: fc.boolean(),
      ready: fc.boolean(),
      cpu: fc.integer({ min: 0, max: 16 }),
      memGi: fc.integer({ min: 0, max: 32 }),
      pods: fc.integer({ min: 0, max: 20 }),
    })
    .map(
      (n): KubeObject => ({
        metadata: { name, labels: { zone: n.zone, 'kubernetes.io/hostname': name } },
        spec: { ...(n.cordoned ? { unschedulable: true } : {}), ...(n.taints.length ? { taints: n.taints } : {}) },
        status: { allocatable: { cpu: String(n.cpu), memory: `${n.memGi}Gi`, pods: String(n.pods) }, conditions: [{ type: 'Ready', status: n.ready ? 'True' : 'False' }] },
      }),
    );

const container = fc.record({ cpu: fc.constantFrom('100m', '500m', '1', '3'), mem: fc.constantFrom('128Mi', '1Gi'), limitsOnly: fc.boolean() }).map((c) => ({
  name: 'c',
  image: 'x',
  resources: c.limitsOnly ? { limits: { cpu: c.cpu, memory: c.mem } } : { requests: { cpu: c.cpu, memory: c.mem } },
}));

const podArb = (nodes: readonly string[]) =>
  fc
    .record({ app: fc.constantFrom('web', 'db', 'other'), node: fc.option(fc.constantFrom(...nodes), { nil: undefined }), c: container, phase: fc.constantFrom('Running', 'Succeeded', 'Pending') })
    .map(
      (p): KubeObject => ({
        metadata: { namespace: 'shop', name: `p-${p.app}`, labels: { app: p.app } },
        spec: { ...(p.node ? { nodeName: p.node } : {}), containers: [p.c] },
        status: p.node
          ? { phase: p.phase }
          : { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: `0/${nodes.length} nodes are available: Insufficient cpu (${p.app}).` }] },
      }),
    );

const appArb = (name: 'web' | 'db') =>
  fc
    .record({
      replicas: fc.integer({ min: 0, max: 30 }),
      c: container,
      init: fc.option(container, { nil: undefined }),
      tolerateMaster: fc.boolean(),
      zone: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
      spread: fc.constantFrom('capacity' as const, 'weighted' as const, 'duplicate' as const),
    })
    .map(
      (a): App =>
        AppSchema.parse({
          name,
          namespace: 'shop',
          replicas: a.replicas,
          template: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            spec: {
              selector: { matchLabels: { app: name } },
              template: {
                metadata: { labels: { app: name } },
                spec: {
                  containers: [a.c],
                  ...(a.init ? { initContainers: [{ ...a.init, name: 'init' }] } : {}),
                  ...(a.tolerateMaster ? { tolerations: [{ key: MASTER.key, operator: 'Exists', effect: 'NoSchedule' }] } : {}),
                  ...(a.zone ? { nodeSelector: { zone: a.zone } } : {}),
                },
              },
            },
          },
          placement: { spread: a.spread },
        }),
    );

const memberArb = fc
  .integer({ min: 1, max: 5 })
  .chain((k) => {
    const names = Array.from({ length: k }, (_, i) => `n${i}`);
    return fc.record({ nodes: fc.tuple(...names.map(nodeArb)), pods: fc.array(podArb(names), { maxLength: 12 }), healthy: fc.boolean(), perNode: fc.boolean() });
  });

const MEMBERS = ['m1', 'm2', 'm3'];

describe('cluster-mgr plan and the daemon build the same spread input', () => {
  it('equal results on random clusters (per-node snapshots, Pending pods, totals-only members)', () => {
    fc.assert(
      fc.property(
        fc.tuple(memberArb, memberArb, memberArb),
        fc.tuple(appArb('web'), appArb('db')),
        fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 6, maxLength: 6 }),
        (clusters, apps, cur) => {
          const members = MEMBERS.map((name) => ({ name, labels: {} }));
          // The daemon's view: the informer caches through the adapter's capacityOf.
          const observed: Record<string, MemberCapacity> = {};
          clusters.forEach((c, i) => {
            const cap = capacityOf(c.nodes, c.pods);
            observed[MEMBERS[i]!] = {
              healthy: c.healthy,
              allocatable: cap.allocatable,
              allocated: cap.allocated,
              // A member without node detail (an old capacity file) takes the totals path on both sides.
              ...(c.perNode ? { nodes: cap.byNode!, unschedulablePods: cap.unschedulablePods!, boundPods: cap.boundPods! } : {}),
            };
          });
          const current: Record<string, Record<string, number>> = {};
          apps.forEach((a, j) => (current[`shop/${a.name}`] = Object.fromEntries(MEMBERS.map((m, i) => [m, cur[j * 3 + i]!]))));
          // `cluster-mgr plan`: the same snapshot as a capacity file, read back through its schema.
          const file = CapacitySchema.parse(JSON.parse(JSON.stringify({ clusters: Object.fromEntries(MEMBERS.map((m) => [m, capacityFileEntry(observed[m]!)])), current })));
          const planned = planAll(apps, members, file);
          for (const app of apps) {
            const capacity = Object.fromEntries(MEMBERS.map((m) => [m, checkCapacity(observed[m]!).capacity]));
            const input = spreadInputFor(app, app.replicas, members, capacity, current[`shop/${app.name}`]!);
            const daemon = withSchedulerReason(divideReplicas(input), input.schedulerMessages);
            expect(planned.get(`shop/${app.name}`)).toEqual(daemon);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('the snapshot the daemon builds is scheduling-aware (a check that the property exercises it)', () => {
    const [n] = fc.sample(nodeArb('n0'), { numRuns: 1, seed: 1 });
    const cap = capacityOf([n!, { metadata: { name: 'm' }, spec: { taints: [MASTER] }, status: { allocatable: { cpu: '8', memory: '8Gi', pods: '10' }, conditions: [{ type: 'Ready', status: 'True' }] } }], []);
    expect(cap.byNode!.map((x) => x.name)).toEqual(['m', 'n0']);
    expect(cap.byNode![0]!.taints).toEqual([{ key: MASTER.key, effect: 'NoSchedule' }]);
  });
});
