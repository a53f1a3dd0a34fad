// The lab's real control plane: nodes with capacity, labels and taints; the real scheduler binds
// pods to kwok nodes and they turn Ready; a stuck pod stays not-ready; a failed start names the
// binary, its log and the fix, and leaves no process or data behind.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneStartError, k8sAssets, REPO_ROOT, requireK8s, run, startControlPlane, waitFor, type ControlPlane } from './index';

type Pod = { metadata: { name: string; annotations?: Record<string, string> }; spec: { nodeName?: string }; status: { phase: string; conditions?: { type: string; status: string; reason?: string; message?: string }[]; containerStatuses?: { state: Record<string, { reason?: string }> }[] } };

/** PIDs of processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', text], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('startControlPlane (real etcd, kube-apiserver, controller-manager, scheduler, kwok)', () => {
  let cp: ControlPlane | undefined;
  beforeAll(async () => {
    if (!k8sAssets().ok) return;
    cp = await startControlPlane({
      name: 'lab-cp',
      nodes: [
        { name: 'm1', cpu: '4', memory: '8Gi', labels: { 'node-role.kubernetes.io/control-plane': '' }, taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] },
        { name: 'w1', cpu: '2', memory: '4Gi', labels: { zone: 'a' } },
        { name: 'w2', cpu: '2', memory: '4Gi', labels: { zone: 'b' } },
        { name: 'cordoned', cpu: '16', memory: '32Gi', unschedulable: true },
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it('serves TLS with client certificates; nodes are Ready with the given capacity, labels and taints', async (ctx) => {
    requireK8s(ctx);
    const nodes = await cp!.api<{ items: { metadata: { name: string; labels: Record<string, string> }; spec: { taints?: unknown[]; unschedulable?: boolean }; status: { allocatable: Record<string, string>; conditions: { type: string; status: string }[] } }[] }>('GET', '/api/v1/nodes');
    expect(nodes.status).toBe(200);
    const byName = new Map(nodes.body.items.map((n) => [n.metadata.name, n]));
    expect([...byName.keys()].sort()).toEqual(['cordoned', 'm1', 'w1', 'w2']);
    for (const n of byName.values()) expect(n.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(byName.get('w1')!.status.allocatable).toMatchObject({ cpu: '2', memory: '4Gi' });
    expect(byName.get('w2')!.metadata.labels.zone).toBe('b');
    expect(byName.get('m1')!.spec.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    expect(byName.get('cordoned')!.spec.unschedulable).toBe(true);
    // The kubeconfig verifies the server against the lab CA and authenticates with the admin cert.
    const who = await cp!.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(who.stdout).toBe('lab-admin');
  });

  it('the real scheduler places pods only where they fit and are allowed; kwok makes them Ready; the rest stay Pending (Unschedulable)', async (ctx) => {
    requireK8s(ctx);
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'fit', namespace: 'default' },
      spec: {
        replicas: 5,
        selector: { matchLabels: { app: 'fit' } },
        template: { metadata: { labels: { app: 'fit' } }, spec: { containers: [{ name: 'c', image: 'lab.invalid/app:1', resources: { requests: { cpu: '900m', memory: '256Mi' } } }] } },
      },
    };
    const r = await cp!.api('POST', '/apis/apps/v1/namespaces/default/deployments', deploy);
    expect(r.status).toBe(201);
    const pods = await waitFor(
      async () => {
        const l = await cp!.api<{ items: Pod[] }>('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dfit');
        const ready = l.body.items.filter((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        const unsched = l.body.items.filter((p) => p.status.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'));
        return l.body.items.length === 5 && ready.length === 4 && unsched.length === 1 ? l.body.items : undefined;
      },
      { timeoutMs: 30_000, what: '4 pods Ready on w1/w2 and 1 Pending as Unschedulable' },
    );
    const placed = pods.filter((p) => p.spec.nodeName).map((p) => p.spec.nodeName);
    expect(new Set(placed)).toEqual(new Set(['w1', 'w2'])); // never the tainted master nor the cordoned node
    const pending = pods.find((p) => !p.spec.nodeName)!;
    expect(pending.status.conditions!.find((c) => c.type === 'PodScheduled')!.message).toMatch(/Insufficient cpu|untolerated taint|unschedulable/);
    await cp!.api('DELETE', '/apis/apps/v1/namespaces/default/deployments/fit');
  });

  it('a pod annotated lab.flotilla.dev/stuck is bound but never becomes Ready (an image that never starts)', async (ctx) => {
    requireK8s(ctx);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stuck', namespace: 'default', annotations: { 'lab.flotilla.dev/stuck': 'true' } }, spec: { containers: [{ name: 'c', image: 'lab.invalid/never:1' }] } };
    expect((await cp!.api('POST', '/api/v1/namespaces/default/pods', pod)).status).toBe(201);
    const p = await waitFor(
      async () => {
        const got = (await cp!.api<Pod>('GET', '/api/v1/namespaces/default/pods/stuck')).body;
        return got.spec.nodeName && got.status.containerStatuses ? got : undefined;
      },
      { timeoutMs: 20_000, what: 'the stuck pod bound with container statuses' },
    );
    expect(p.status.conditions?.find((c) => c.type === 'Ready')?.status).not.toBe('True');
    expect(p.status.containerStatuses![0]!.state.waiting?.reason).toBe('ImagePullBackOff');
  });
});

describe('failed starts: one message naming the binary, its log and the fix; nothing left behind', () => {
  let blocker: Server | undefined;
  afterAll(() => blocker?.close());

  it('kube-apiserver cannot bind its port (taken)', async (ctx) => {
    requireK8s(ctx);
    blocker = createServer();
    const port = await new Promise<number>((res) => blocker!.listen(0, '127.0.0.1', () => res((blocker!.address() as { port: number }).port)));
    const err = await startControlPlane({ name: 'port-taken', apiOnly: true, port, timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlPlaneStartError);
    const e = err as ControlPlaneStartError;
    expect(e.binary).toBe('kube-apiserver');
    expect(e.message).toMatch(/kube-apiserver exited before serving \/readyz; log: .*kube-apiserver\.log; fix: a port already in use/);
    expect(e.message).toMatch(/address already in use/);
    expect(existsSync(e.logFile)).toBe(true);
    expect(execFileSync('ls', [tmpdir()], { encoding: 'utf8' }), 'the data folder is removed').not.toMatch(/flt-cp-port-taken-/);
    expect(processesMentioning('flt-cp-port-taken-')).toEqual([]);
  }, 60_000);

  it('etcd fails to start', async (ctx) => {
    requireK8s(ctx);
    const err = await startControlPlane({ name: 'etcd-fails', apiOnly: true, etcdArgs: ['--no-such-flag'], timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlPlaneStartError);
    const e = err as ControlPlaneStartError;
    expect(e.binary).toBe('etcd');
    expect(e.message).toMatch(/etcd exited before serving \/health; log: .*etcd\.log; fix: /);
    expect(e.message).toMatch(/no-such-flag/);
    expect(processesMentioning('flt-cp-etcd-fails-')).toEqual([]);
    expect(execFileSync('ls', [tmpdir()], { encoding: 'utf8' })).not.toMatch(/flt-cp-etcd-fails-/);
  }, 60_000);
});

describe('scripts/k8s-assets: bad input', () => {
  const script = join(REPO_ROOT, 'scripts', 'k8s-assets');
  it('KUBEBUILDER_ASSETS naming a folder that lacks a binary: exit 1 naming the binaries and the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flt-assets-'));
    try {
      const r = await run(script, [], { env: { ...process.env, KUBEBUILDER_ASSETS: dir } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`KUBEBUILDER_ASSETS=${dir} lacks: kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok`);
      expect(r.stderr).toMatch(/fix: put those binaries there, or unset KUBEBUILDER_ASSETS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unwritable cache directory: exit 1 naming it and the fix, nothing built', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, FLOTILLA_CACHE: "/etc/hostname/flotilla-cache" };
    delete env.KUBEBUILDER_ASSETS;
    const r = await run(script, ['--build'], { env, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write the cache directory \/etc\/hostname\/flotilla-cache\/k8s\//);
    expect(r.stderr).toMatch(/fix: make it writable, or set FLOTILLA_CACHE/);
    const plain = await run(script, [], { env });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/fix: run scripts\/setup/);
  });

  it('KUBEBUILDER_ASSETS naming a complete folder is used as it is (envtest convention)', async (ctx) => {
    const dir = requireK8s(ctx);
    const r = await run(script, [], { env: { ...process.env, KUBEBUILDER_ASSETS: dir } });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(dir);
  });
});
