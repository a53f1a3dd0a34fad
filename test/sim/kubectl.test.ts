// The real kubectl (1.32) against a simulated member: discovery, Table output, describe, server-side
// apply, scale, delete, watch. Each command runs with its own HOME (no cache leaks) and a request timeout.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type Sim } from '../../cluster-mgr/sim';
import { requireTools, waitFor, which } from '../lab';
import { runKubectl } from './helpers';

let sim: Sim;
let home: string;
let kubeconfig: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sim-kubectl-home-'));
  sim = await startSim({ count: 2, nodesPerMember: 3 });
  kubeconfig = sim.members[0]!.kubeconfig;
});
afterAll(async () => {
  await sim?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return kubectlWith(kubeconfig, ...args);
}

function kubectlWith(config: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runKubectl(config, home, args);
}

async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const MANIFEST = `apiVersion: v1
kind: Namespace
metadata:
  name: shop2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop2
  labels: { app: web }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: registry.example.com/apps/web:1.4.2
          resources: { requests: { cpu: 500m, memory: 512Mi } }
`;

const rows = (out: string) =>
  out
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/));

describe('kubectl against the simulator', () => {
  it('get nodes prints the real columns', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    const out = await ok('get', 'nodes');
    expect(out.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s*$/);
    const r = rows(out);
    expect(r.map((x) => x[0])).toEqual(['sim-1-node-1', 'sim-1-node-2', 'sim-1-node-3']);
    for (const x of r) expect(x.slice(1, 3)).toEqual(['Ready', 'worker']);
  });

  it('apply --server-side creates a Deployment; get deploy / get pods -A show its pods', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    const file = join(home, 'web.yaml');
    await writeFile(file, MANIFEST);
    const out = await ok('apply', '--server-side', '-f', file);
    expect(out).toContain('namespace/shop2 serverside-applied');
    expect(out).toContain('deployment.apps/web serverside-applied');
    await waitFor(async () => /^web\s+3\/3\s+3\s+3\s/m.test(await ok('get', 'deploy', '-n', 'shop2')), { what: 'web 3/3 in kubectl get deploy', timeoutMs: 10_000 });
    const pods = rows(await ok('get', 'pods', '-A'));
    const web = pods.filter((p) => p[0] === 'shop2');
    expect(web).toHaveLength(3);
    for (const p of web) {
      expect(p[1]).toMatch(/^web-[a-z0-9]{10}-[a-z0-9]{5}$/);
      expect(p.slice(2, 4)).toEqual(['1/1', 'Running']);
    }
    // Re-applying is idempotent and the field manager is kubectl's.
    expect(await ok('apply', '--server-side', '-f', file)).toContain('deployment.apps/web serverside-applied');
    const json = JSON.parse(await ok('get', 'deploy', 'web', '-n', 'shop2', '-o', 'json', '--show-managed-fields'));
    expect(json.metadata.managedFields.find((m: { operation: string }) => m.operation === 'Apply').manager).toBe('kubectl');
  });

  it('describe node and describe deployment', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    const node = await ok('describe', 'node', 'sim-1-node-1');
    expect(node).toMatch(/^Name:\s+sim-1-node-1$/m);
    expect(node).toMatch(/Ready\s+True\s+.*KubeletReady/);
    expect(node).toMatch(/Allocatable:\s*\n\s+cpu:\s+4/);
    expect(node).toContain('Non-terminated Pods:');
    const dep = await ok('describe', 'deployment', 'web', '-n', 'shop2');
    expect(dep).toMatch(/^Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$/m);
    expect(dep).toMatch(/NewReplicaSet:\s+web-[a-z0-9]{10} \(3\/3 replicas created\)/);
    expect(dep).toContain('ScalingReplicaSet');
  });

  it('scale deployment: the pods follow', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    expect(await ok('scale', 'deployment', 'web', '-n', 'shop2', '--replicas=5')).toContain('deployment.apps/web scaled');
    await waitFor(async () => rows(await ok('get', 'pods', '-n', 'shop2')).filter((p) => p[2] === 'Running').length === 5, { what: '5 running pods', timeoutMs: 10_000 });
    expect(sim.member('sim-1').list('pods', 'shop2')).toHaveLength(5);
    expect(await ok('scale', 'deploy', 'web', '-n', 'shop2', '--replicas=2')).toContain('scaled');
    await waitFor(async () => rows(await ok('get', 'pods', '-n', 'shop2')).length === 2, { what: '2 pods', timeoutMs: 10_000 });
  });

  it('get -o json returns the object with status', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    const d = JSON.parse(await ok('get', 'deploy', 'web', '-n', 'shop2', '-o', 'json'));
    expect(d).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', spec: { replicas: 2 }, status: { readyReplicas: 2 } });
    const list = JSON.parse(await ok('get', 'nodes', '-o', 'json'));
    expect(list.items).toHaveLength(3);
    expect(list.items[0].status.allocatable).toMatchObject({ cpu: '4', memory: '8Gi', pods: '110' });
  });

  it('get -w prints a line when something changes', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    const child = spawn(which('kubectl') ?? 'kubectl', ['--kubeconfig', kubeconfig, 'get', 'deploy', '-n', 'shop2', '-w'], {
      env: { ...process.env, HOME: home, KUBECONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      await waitFor(() => /^web\s+2\/2/m.test(out), { what: 'initial watch line', timeoutMs: 10_000 });
      await ok('scale', 'deployment', 'web', '-n', 'shop2', '--replicas=4');
      await waitFor(() => /^web\s+4\/4\s+4\s+4/m.test(out), { what: 'a watch line showing 4/4', timeoutMs: 10_000 });
      expect(out.split('\n')[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    } finally {
      clearTimeout(killer);
      child.kill('SIGTERM');
    }
  });

  it('imperative create (protobuf bodies) for configmap, secret and namespace', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    expect(await ok('create', 'namespace', 'team-a')).toContain('namespace/team-a created');
    expect(await ok('create', 'configmap', 'cfg', '-n', 'team-a', '--from-literal=a=b')).toContain('configmap/cfg created');
    expect(await ok('create', 'secret', 'generic', 'sec', '-n', 'team-a', '--from-literal=p=q')).toContain('secret/sec created');
    expect(sim.member('sim-1').get('ConfigMap', 'team-a', 'cfg')!.data).toEqual({ a: 'b' });
    expect(sim.member('sim-1').get('Secret', 'team-a', 'sec')).toMatchObject({ type: 'Opaque', data: { p: Buffer.from('q').toString('base64') } });
    const r = await kubectl('create', 'deployment', 'd1', '--image=nginx', '-n', 'team-a');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('send JSON, e.g. with kubectl apply -f');
  });

  it('rollout status, label and client-side apply work too', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    expect(await ok('rollout', 'status', 'deployment/web', '-n', 'shop2', '--timeout=10s')).toContain('successfully rolled out');
    expect(await ok('label', 'deployment', 'web', '-n', 'shop2', 'tier=fe')).toContain('labeled');
    expect(sim.member('sim-1').get('deploy', 'shop2', 'web')!.metadata.labels).toMatchObject({ tier: 'fe' });
    const describe = await ok('describe', 'deployment', 'web', '-n', 'shop2');
    expect(describe).toMatch(/^StrategyType:\s+RollingUpdate$/m);
    expect(await ok('logs', 'deploy/web', '-n', 'shop2')).toMatch(/^flotilla-sim: pod shop2\/web-\S+ is simulated/);
  });

  it('server-side dry runs: kubectl diff shows the change, delete --dry-run=server keeps the object', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    const file = join(home, 'web9.yaml');
    await writeFile(file, MANIFEST.replace('replicas: 3', 'replicas: 9'));
    const before = sim.member('sim-1').get('deploy', 'shop2', 'web')!;
    const diff = await kubectl('diff', '--server-side', '--force-conflicts', '-f', file);
    expect(diff.code, diff.stderr).toBe(1); // 1 = differences found
    expect(diff.stdout).toMatch(/^\+\s+replicas: 9$/m);
    const del = await ok('delete', 'deployment', 'web', '-n', 'shop2', '--dry-run=server');
    expect(del).toContain('(server dry run)');
    const after = sim.member('sim-1').get('deploy', 'shop2', 'web')!;
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.spec.replicas).toBe(before.spec.replicas);
  });

  it('delete deployment removes it and its pods; the other member is untouched', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    expect(await ok('delete', 'deployment', 'web', '-n', 'shop2')).toContain('deployment.apps "web" deleted');
    const r = await kubectl('get', 'deploy', 'web', '-n', 'shop2');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('deployments.apps "web" not found');
    await waitFor(async () => (await kubectl('get', 'pods', '-n', 'shop2')).stderr.includes('No resources found'), { what: 'no pods', timeoutMs: 10_000 });
    const other = await kubectlWith(sim.members[1]!.kubeconfig, 'get', 'ns', 'shop2');
    expect(other.stderr).toContain('namespaces "shop2" not found');
    expect((await kubectl('get', 'ns', 'shop2')).code).toBe(0);
    expect(other.code).not.toBe(0);
  });
});
