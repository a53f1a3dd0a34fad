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

// `cluster-mgr plan` reuses one engine across apps (it resets only what the previous app set, and
// selects members through per-label masks): over a sequence of apps with every kind of placement, each
// result equals a fresh divideReplicas on that app's own input.
interface MemberRow {
  readonly name: string;
  readonly site: string;
  readonly env: string | undefined;
  readonly healthy: boolean;
  readonly cpu: number;
  readonly usedCpu: number;
  readonly pods: number;
}

describe('cluster-mgr plan over many apps equals one division per app', () => {
  const LABELS = { site: ['s0', 's1'], env: ['prod', 'dev'] } as const;
  const memberListArb = fc.uniqueArray(fc.constantFrom('m0', 'm1', 'm2', 'm3', 'm4', 'm5'), { minLength: 1, maxLength: 6 }).chain((names) =>
    fc.tuple(
      ...names.map((name) =>
        fc.record({
          name: fc.constant(name),
          site: fc.constantFrom(...LABELS.site),
          env: fc.option(fc.constantFrom(...LABELS.env), { nil: undefined }),
          healthy: fc.boolean(),
          cpu: fc.integer({ min: 0, max: 40 }),
          usedCpu: fc.integer({ min: 0, max: 20 }),
          pods: fc.integer({ min: 0, max: 60 }),
        }),
      ),
    ),
  );
  const placedAppArb = (i: number, names: readonly string[]) =>
    fc
      .record({
        replicas: fc.integer({ min: 0, max: 25 }),
        cpu: fc.constantFrom('250m', '1', '2'),
        spread: fc.constantFrom('capacity' as const, 'weighted' as const, 'duplicate' as const),
        selector: fc.option(fc.record({ site: fc.option(fc.constantFrom(...LABELS.site), { nil: undefined }), env: fc.option(fc.constantFrom(...LABELS.env), { nil: undefined }) }), { nil: undefined }),
        clusters: fc.option(fc.subarray([...names, 'elsewhere']), { nil: undefined }),
        perCluster: fc.dictionary(fc.constantFrom(...names), fc.record({ weight: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), min: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }), max: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }) }), { maxKeys: 3 }),
        current: fc.option(fc.dictionary(fc.constantFrom(...names, 'gone'), fc.integer({ min: 0, max: 9 }), { maxKeys: 4 }), { nil: undefined }),
      })
      .map((a) => ({
        current: a.current,
        app: AppSchema.parse({
          name: `app-${i}`,
          namespace: 'shop',
          replicas: a.replicas,
          template: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            spec: { selector: { matchLabels: { app: `app-${i}` } }, template: { metadata: { labels: { app: `app-${i}` } }, spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: a.cpu, memory: '64Mi' } } }] } } },
          },
          placement: {
            spread: a.spread,
            ...(a.selector ? { clusterSelector: Object.fromEntries(Object.entries(a.selector).filter(([, v]) => v !== undefined)) } : {}),
            ...(a.clusters ? { clusters: a.clusters } : {}),
            perCluster: Object.fromEntries(Object.entries(a.perCluster).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined))])),
          },
        }),
      }));

  /** The members' capacity as a capacity file (what `cluster-mgr plan` reads) and as the daemon sees it, with the apps' current splits. */
  const snapshot = (ms: readonly MemberRow[], placed: readonly { app: App; current: Record<string, number> | undefined }[]) => {
    const current: Record<string, Record<string, number>> = {};
    for (const p of placed) if (p.current) current[`shop/${p.app.name}`] = p.current;
    const file = CapacitySchema.parse({
      clusters: Object.fromEntries(ms.map((m) => [m.name, { healthy: m.healthy, allocatable: { cpu: String(m.cpu), memory: '64Gi', pods: m.pods }, allocated: { cpu: String(m.usedCpu), memory: '1Gi', pods: 0 } }])),
      current,
    });
    const capacity = Object.fromEntries(ms.map((m) => [m.name, { healthy: m.healthy, allocatable: { cpu: m.cpu, memory: 64 * 2 ** 30, pods: m.pods }, allocated: { cpu: m.usedCpu, memory: 2 ** 30, pods: 0 } }]));
    return { current, file, capacity };
  };

  it('equal results for apps with selectors, clusters, perCluster and current splits, in any order', () => {
    fc.assert(
      fc.property(
        memberListArb.chain((ms) => fc.tuple(fc.constant(ms), fc.tuple(...Array.from({ length: 8 }, (_, i) => placedAppArb(i, ms.map((m) => m.name)))))),
        ([ms, placed]) => {
          const members = ms.map((m) => ({ name: m.name, labels: { site: m.site, ...(m.env ? { env: m.env } : {}) } }));
          const { current, file, capacity } = snapshot(ms, placed);
          const apps = placed.map((p) => p.app);
          const planned = planAll(apps, members, file);
          expect([...planned.keys()]).toEqual(apps.map((a) => `shop/${a.name}`));
          for (const app of apps) {
            const input = spreadInputFor(app, app.replicas, members, capacity, current[`shop/${app.name}`] ?? {});
            expect(planned.get(`shop/${app.name}`)).toEqual(divideReplicas(input));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  // The loader rejects duplicate member names; planAll still takes any list (its own path for them:
  // every member's current split and perCluster set by position) and must agree with the daemon's.
  it('a member list with a name twice: still one division per app', () => {
    fc.assert(
      fc.property(
        memberListArb.chain((ms) => fc.tuple(fc.constant(ms), fc.nat({ max: ms.length - 1 }), fc.tuple(...Array.from({ length: 4 }, (_, i) => placedAppArb(i, ms.map((m) => m.name)))))),
        ([ms, twice, placed]) => {
          const members = ms.map((m) => ({ name: m.name, labels: { site: m.site, ...(m.env ? { env: m.env } : {}) } }));
          members.push({ ...members[twice]!, labels: { site: LABELS.site[0] } });
          const { current, file, capacity } = snapshot(ms, placed);
          const apps = placed.map((p) => p.app);
          const planned = planAll(apps, members, file);
          for (const app of apps) {
            const input = spreadInputFor(app, app.replicas, members, capacity, current[`shop/${app.name}`] ?? {});
            expect(planned.get(`shop/${app.name}`)).toEqual(divideReplicas(input));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
