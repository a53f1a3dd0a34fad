// Queue discipline (issue 11 item 5) inside the Daemon, with fake members: an informer event requeues
// only the apps it concerns (core/events) — a pod event its own app, a node heartbeat nothing, a node
// going NotReady the apps that may land on it — and never the 100 ms "every app" timer, which only a
// (re)list arms. Each reconcile of an app writes its Deployment once (the fake member never reports it
// back), so the apply count per Deployment counts reconciles.
import pino from 'pino';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFederation } from '../../cluster-mgr/config/index';
import type { ClusterApi, KubeObject, MemberEvent } from '../../cluster-mgr/contracts/index';
import { nodeSnapshot } from '../../cluster-mgr/core/fixtures';
import { Daemon } from '../../cluster-mgr/daemon/index';
import { waitFor } from '../lab/index';
import { deploymentTemplate } from './app-doc';

const app = (name: string, namespace: string, placement: Record<string, unknown> = {}) => ({
  name,
  namespace,
  replicas: 2,
  template: deploymentTemplate(name, { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '100m' } } }], ...placement }),
});

// health.interval 1h: the periodic resync never runs during the test, so every reconcile after the
// first comes from an event.
const parsed = parseFederation(
  stringify({
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Federation',
    metadata: { name: 'requeue' },
    spec: {
      members: [{ name: 'm1', kubeconfig: './m1.yaml' }],
      health: { interval: '1h' },
      apps: [app('web', 'shop'), app('api', 'shop'), app('edge', 'bank', { nodeSelector: { role: 'edge' }, tolerations: [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }] })],
    },
  }),
);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
const federation = parsed.value;

function fakeMember(applied: Map<string, number>): ClusterApi {
  const cap = { cpu: 64, memory: 256e9, pods: 500 };
  return {
    name: 'm1',
    start: () => undefined,
    synced: () => true,
    capacity: () => ({ allocatable: cap, allocated: { cpu: 0, memory: 0, pods: 0 }, readyNodes: 1, nodes: 1 }),
    owned: () => [],
    findOwned: () => undefined,
    probe: async () => ({ ok: true }),
    apply: async (o: KubeObject) => {
      const name = String((o.metadata as { name: string }).name);
      applied.set(name, (applied.get(name) ?? 0) + 1);
    },
    get: async () => undefined,
    write: async () => true,
    delete: async () => undefined,
  };
}

const node = nodeSnapshot;

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

describe('Daemon: events requeue only the apps they concern', () => {
  it('a pod event requeues its own app; a pod of no app, a node heartbeat nothing; a node going NotReady the apps that may land on it', async () => {
    const applied = new Map<string, number>();
    const d = (daemon = new Daemon({ federation, apps: federation.spec.apps, members: new Map([['m1', fakeMember(applied)]]), log: pino({ level: 'silent' }) }));
    const queue = d['queue'];
    const idle = () => queue['running'] === 0 && queue.length === 0;
    const counts = () => ({ web: applied.get('web') ?? 0, api: applied.get('api') ?? 0, edge: applied.get('edge') ?? 0 });
    const requeues = async () => Object.fromEntries(((await d.metrics.requeues.get()).values as { labels: { cause: string }; value: number }[]).map((v) => [v.labels.cause, v.value]));
    // Every key handed to the work queue, as it is handed over.
    const added: string[] = [];
    const add = queue.add.bind(queue);
    queue.add = (key, o) => {
      added.push(key);
      add(key, o);
    };
    /** Sends `e`; returns the keys it queued (the handling is synchronous). */
    const send = (e: MemberEvent): string[] => {
      added.length = 0;
      d.onMemberEvent('m1', e);
      return [...added].sort();
    };

    d.start();
    await waitFor(() => counts().web === 1 && counts().api === 1 && counts().edge === 1 && idle(), { timeoutMs: 5000, what: 'the first reconcile of every app' });

    // A pod of web (owned through its ReplicaSet): web only, and no "every app" timer.
    const webPod = { namespace: 'shop', labels: { app: 'web', 'pod-template-hash': 'h1' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-h1', controller: true }] };
    expect(send({ kind: 'pod', pod: webPod })).toEqual(['shop/web']);
    expect(d['changeTimer']).toBeUndefined();
    await waitFor(() => counts().web === 2 && idle(), { timeoutMs: 5000, what: "web's second reconcile" });
    expect(counts()).toEqual({ web: 2, api: 1, edge: 1 });

    // A pod of no app, and a node heartbeat (nothing scheduling-relevant changed): nothing queued.
    expect(send({ kind: 'pod', pod: { namespace: 'shop', labels: { app: 'postgres' } } })).toEqual([]);
    expect(send({ kind: 'node', before: node(), after: node() })).toEqual([]);
    expect(d['changeTimer']).toBeUndefined();

    // A plain worker goes NotReady: web and api may land there, edge (nodeSelector role=edge) may not.
    expect(send({ kind: 'node', before: node(), after: node({ ready: false }) })).toEqual(['shop/api', 'shop/web']);
    await waitFor(() => counts().web === 3 && counts().api === 2 && idle(), { timeoutMs: 5000, what: 'web and api reconciled after the node change' });
    expect(counts()).toEqual({ web: 3, api: 2, edge: 1 });
    expect(await requeues()).toEqual({ pod: 1, node: 2 });

    // Only a (re)list requeues every app (coalesced).
    expect(send({ kind: 'listed' })).toEqual([]);
    expect(d['changeTimer']).toBeDefined();
    await waitFor(() => counts().web === 4 && counts().api === 3 && counts().edge === 2 && idle(), { timeoutMs: 5000, what: 'every app reconciled after a relist' });
    expect(await requeues()).toEqual({ pod: 1, node: 2, all: 3 });
  });
});
