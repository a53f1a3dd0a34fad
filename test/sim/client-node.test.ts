// @kubernetes/client-node (what cluster-mgr uses) against a simulated member: kubeconfig loading,
// list, informer (list + watch), server-side apply, 409 on a stale replace, the scale subresource, Leases.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type Sim } from '../../cluster-mgr/sim';
import { waitFor } from '../lab';

let sim: Sim;
let kc: k8s.KubeConfig;

beforeAll(async () => {
  sim = await startSim({ count: 1, names: ['cn'] });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(sim.members[0]!.kubeconfig);
});
afterAll(async () => {
  await sim?.stop();
});

const web = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '100m' } } }] } },
  },
});

describe('@kubernetes/client-node against the simulator', () => {
  it('lists nodes, runs an informer, applies server-side, gets 409 on a stale replace, scales', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const nodes = await core.listNode();
    expect(nodes.items.map((n) => n.metadata?.name)).toEqual(['cn-node-1', 'cn-node-2', 'cn-node-3']);
    expect(nodes.items[0]!.status?.allocatable).toMatchObject({ cpu: '4', memory: '8Gi', pods: '110' });

    const informer = k8s.makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
    const seen = new Set<string>();
    informer.on('add', (p) => seen.add(p.metadata!.name!));
    informer.on('error', () => undefined);
    await informer.start();
    try {
      const applied = await apps.patchNamespacedDeployment(
        { name: 'web', namespace: 'shop', body: web(3), fieldManager: 'cluster-mgr', force: true },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
      );
      expect(applied.spec?.replicas).toBe(3);
      await waitFor(() => [...seen].filter((n) => n.startsWith('web-')).length === 3, { what: 'informer saw 3 web pods', timeoutMs: 5000 });

      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'shop' });
      const stale = { ...d, metadata: { ...d.metadata, resourceVersion: '1' } };
      const err = await apps.replaceNamespacedDeployment({ name: 'web', namespace: 'shop', body: stale }).catch((e: unknown) => e);
      expect((err as { code?: number }).code).toBe(409);

      await apps.patchNamespacedDeploymentScale(
        { name: 'web', namespace: 'shop', body: { spec: { replicas: 1 } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      const scale = await apps.readNamespacedDeploymentScale({ name: 'web', namespace: 'shop' });
      expect(scale.spec?.replicas).toBe(1);
      await waitFor(async () => (await core.listNamespacedPod({ namespace: 'shop' })).items.length === 1, { what: '1 pod left', timeoutMs: 5000 });
    } finally {
      await informer.stop();
    }
  });

  it('Lease create and a conflicting update', async () => {
    const co = kc.makeApiClient(k8s.CoordinationV1Api);
    await co.createNamespacedLease({ namespace: 'default', body: { metadata: { name: 'l' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 4, renewTime: new k8s.V1MicroTime() } } });
    const l = await co.readNamespacedLease({ name: 'l', namespace: 'default' });
    expect(l.spec?.holderIdentity).toBe('a');
    // A renewal changes renewTime (a no-op write would keep the resourceVersion, as on a real server).
    await co.replaceNamespacedLease({ name: 'l', namespace: 'default', body: { ...l, spec: { ...l.spec, renewTime: new k8s.V1MicroTime(Date.now() + 1000) } } });
    const err = await co.replaceNamespacedLease({ name: 'l', namespace: 'default', body: { ...l, spec: { ...l.spec, holderIdentity: 'b' } } }).catch((e: unknown) => e);
    expect((err as { code?: number }).code).toBe(409);
  });
});
