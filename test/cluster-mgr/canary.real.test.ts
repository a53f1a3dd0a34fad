// Canary and file logs on a REAL control plane (etcd, kube-apiserver, controller-manager, scheduler,
// kwok nodes whose pods turn Ready): a FederatedApp CR with `spec.canary` and `spec.logs.files` makes
// cluster-mgr write the stable Deployment with the per-pod log mount, the canary Deployment and the
// Istio DestinationRule/VirtualService (CRDs from ../shared/crds installed); `cluster-mgr canary
// promote` waits for the canary's real ready replicas and moves the weights; rollback restores them.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { registerCanary } from '../../cluster-mgr/cli/canary';
import { cliProgram, runCli } from '../../cluster-mgr/cli/exit';
import { loadFederation } from '../../cluster-mgr/config/index';
import { readWeights } from '../../cluster-mgr/core/canary';
import { runDaemon, type Running } from '../../cluster-mgr/daemon/main';
import { deploymentTemplate } from './app-doc';
import { k8sAssets, REPO_ROOT, requireK8s, sharedPath, startControlPlane, waitFor, type ControlPlane } from '../lab';

let cp: ControlPlane | undefined;
let cm: Running | undefined;
let configFile = '';

type Crd = { kind: string; metadata: { name: string } };
const ISTIO = ['virtualservices.networking.istio.io', 'destinationrules.networking.istio.io'];

async function installCrd(crd: Crd, probe: string): Promise<void> {
  const r = await cp!.api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  if (r.status !== 201) throw new Error(`installing ${crd.metadata.name}: HTTP ${r.status}`);
  await waitFor(async () => (await cp!.api('GET', probe)).status === 200, { timeoutMs: 30_000, what: `${crd.metadata.name} served` });
}

beforeAll(async () => {
  if (!k8sAssets().ok) return;
  cp = await startControlPlane({ name: 'canary', nodes: [{ name: 'w1', cpu: '8', memory: '16Gi' }] });
  await installCrd(parse(readFileSync(join(REPO_ROOT, 'constructs/crds/flotilla.dev_federatedapps.yaml'), 'utf8')) as Crd, '/apis/flotilla.dev/v1alpha1/federatedapps');
  const istio = parseAllDocuments(readFileSync(sharedPath('crds', 'istio', 'crd-all.gen.yaml'), 'utf8')).map((d) => d.toJS() as Crd);
  for (const name of ISTIO) await installCrd(istio.find((c) => c?.metadata?.name === name)!, `/apis/networking.istio.io/v1/${name.split('.')[0]}`);
  configFile = join(cp.dir, 'federation.yaml');
  writeFileSync(
    configFile,
    stringify({
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'Federation',
      metadata: { name: 'canary-lab' },
      spec: { members: [{ name: 'm1', kubeconfig: cp.kubeconfigPath }], health: { interval: '500ms', timeout: '2s' }, appSources: { crs: {} } },
    }),
  );
  const fed = await loadFederation(configFile);
  if (!fed.ok) throw new Error(JSON.stringify(fed.errors));
  const log = pino({ level: 'info' }, pino.destination({ dest: join(cp.dir, 'cluster-mgr.log'), sync: true }));
  cm = await runDaemon({ federation: fed.value, configFile, apps: [], listen: { host: '127.0.0.1', port: 0 }, log });
}, 180_000);
afterAll(async () => {
  await cm?.stop();
  await cp?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- nested fields of API objects
const get = async (path: string): Promise<any> => {
  const r = await cp!.api('GET', path);
  return r.status === 200 ? r.body : undefined;
};
const vsPath = '/apis/networking.istio.io/v1/namespaces/shop/virtualservices/web';

async function canaryCli(args: string[]): Promise<{ code: number; out: string }> {
  const program = cliProgram('cluster-mgr', 'test');
  registerCanary(program);
  let out = '';
  const capture = (s: string | Uint8Array) => ((out += String(s)), true);
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
  const before = process.exitCode;
  try {
    await runCli(program, ['node', 'cluster-mgr', 'canary', ...args, '--config', configFile, '--namespace', 'shop']);
    return { code: Number(process.exitCode ?? 0), out };
  } finally {
    for (const s of spies) s.mockRestore();
    process.exitCode = before;
  }
}

it('a FederatedApp with canary and logs.files: both Deployments (log mount) and the routing on a real API server; promote and rollback move the weights', async (ctx) => {
  requireK8s(ctx);
  expect((await cp!.api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } })).status).toBe(201);
  const container = { name: 'web', image: 'lab.invalid/web:1', resources: { requests: { cpu: '100m', memory: '64Mi' } } };
  const created = await cp!.api('POST', '/apis/flotilla.dev/v1alpha1/namespaces/shop/federatedapps', {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'FederatedApp',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      replicas: 2,
      template: deploymentTemplate('web', { containers: [container] }),
      canary: { version: 'v2', image: 'lab.invalid/web:2', weight: 10 },
      logs: { files: true },
    },
  });
  expect(created.status).toBe(201);

  await waitFor(async () => (await get('/apis/apps/v1/namespaces/shop/deployments/web-canary'))?.status?.readyReplicas === 1, { timeoutMs: 60_000, what: 'web-canary with 1 ready replica (real scheduler + kwok)' });
  const stable = await get('/apis/apps/v1/namespaces/shop/deployments/web');
  const pod = stable.spec.template.spec;
  expect(pod.volumes).toContainEqual(expect.objectContaining({ name: 'pod-logs', hostPath: { path: '/var/log/k8s', type: 'DirectoryOrCreate' } }));
  expect(pod.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ name: 'pod-logs', mountPath: '/var/log/app', subPathExpr: '$(POD_NAMESPACE)_$(POD_NAME)' }));
  expect(pod.containers[0].env).toEqual([
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
    { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
  ]);
  // the real pods carry it too (the ReplicaSet controller copied the template)
  const pods = await get('/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb%2Cversion%3Dv2');
  expect(pods.items).toHaveLength(1);
  expect(pods.items[0].spec.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ subPathExpr: '$(POD_NAMESPACE)_$(POD_NAME)' }));
  expect(pods.items[0].spec.containers[0].image).toBe('lab.invalid/web:2');

  await waitFor(async () => (await get(vsPath)) !== undefined, { timeoutMs: 20_000, what: 'the VirtualService' });
  const original = await get(vsPath);
  const dr = await get('/apis/networking.istio.io/v1/namespaces/shop/destinationrules/web');
  expect(dr.spec.subsets.map((s: { name: string; labels: unknown }) => [s.name, s.labels])).toEqual([
    ['stable', { version: 'stable' }],
    ['canary', { version: 'v2' }],
  ]);
  expect(readWeights(original)).toEqual({ ok: true, value: { stable: 90, canary: 10 } });

  const up = await canaryCli(['promote', 'web', '--steps', '50', '--step-timeout', '30s']);
  expect(up.out).toMatch(/m1: shop\/web stable 50% \/ canary 50%\n[^]*m1: shop\/web stable 0% \/ canary 100%/);
  expect(up.code).toBe(0);
  expect(readWeights(await get(vsPath))).toEqual({ ok: true, value: { stable: 0, canary: 100 } });

  const down = await canaryCli(['rollback', 'web', '--steps', '50', '--step-timeout', '30s']);
  expect(down.code, down.out).toBe(0);
  const back = await get(vsPath);
  expect(back.spec).toEqual(original.spec);
  expect(back.metadata.annotations ?? {}).toEqual(original.metadata.annotations ?? {});
});
