// spec.appSources.crs: FederatedApp CRs in the host cluster (the first simulated member) are spread,
// followed on edit, skipped when invalid (with a logged reason and a status condition), shadowed by a
// file app of the same name, and their Deployments are removed when the CR is deleted.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { runDaemon, type Running } from '../../cluster-mgr/daemon/main';
import { waitFor } from '../lab/wait';
import { call } from '../sim/helpers';
import { deploymentReplicas, startEnv, type Env } from './harness';
import { deploymentTemplate } from './app-doc';

let env: Env | undefined;
let cm: Running | undefined;
afterAll(async () => {
  await cm?.stop();
  await env?.sim.stop();
});

const BASE = '/apis/flotilla.dev/v1alpha1/namespaces';
const cr = (name: string, namespace: string, replicas: number, placement: Record<string, unknown> = { spread: 'weighted' }) => ({
  apiVersion: 'flotilla.dev/v1alpha1',
  kind: 'FederatedApp',
  metadata: { name, namespace },
  spec: {
    replicas,
    template: deploymentTemplate(name, { containers: [{ name: 'c', image: `registry.example.com/${name}:1`, resources: { requests: { cpu: '100m', memory: '64Mi' } } }] }),
    placement,
  },
});

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

it('spreads, follows, skips, shadows and removes FederatedApp CRs from the host cluster', async () => {
  env = await startEnv({ names: ['sim-1', 'sim-2'] }, { health: { interval: '500ms', timeout: '400ms' } });
  const host = env.sim.members[0]!.api;
  const log = pino({ level: 'debug' }, pino.destination({ dest: env.logFile, sync: true, append: true }));
  const federation = { ...env.federation, spec: { ...env.federation.spec, appSources: { crs: {} } } };
  cm = await runDaemon({ federation, configFile: env.configFile, apps: federation.spec.apps, listen: { host: '127.0.0.1', port: 0 }, log });
  const replicas = (name: string) => Object.values(deploymentReplicas(env!.sim, 'tools', name)).join();
  const fileApp = () => Object.values(deploymentReplicas(env!.sim, 'shop', 'web'));
  await waitFor(() => fileApp().every((r) => r !== undefined), { timeoutMs: 15_000, what: 'the file app (shop/web) on every member' });
  const fileBefore = fileApp().join();

  // applied in the host member → spread to the members
  expect((await call(host, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tools' } })).status).toBe(201);
  const created = await call(host, 'POST', `${BASE}/tools/federatedapps`, cr('api', 'tools', 4));
  expect(created.status, created.text).toBe(201);
  await waitFor(() => replicas('api') === '2,2', { timeoutMs: 10_000, what: 'tools/api spread 2/2' });
  await waitFor(async () => (await call(host, 'GET', `${BASE}/tools/federatedapps/api`)).body?.status?.conditions?.[0]?.status === 'True', { timeoutMs: 5000, what: 'Valid=True on the CR' });

  // edited (replicas) → followed without restart
  const edited = await call(host, 'PATCH', `${BASE}/tools/federatedapps/api`, { spec: { replicas: 6 } }, 'application/merge-patch+json');
  expect(edited.status, edited.text).toBe(200);
  await waitFor(() => replicas('api') === '3,3', { timeoutMs: 10_000, what: 'tools/api scaled to 3/3' });

  // invalid (the CRD schema accepts it, cluster-mgr's checks do not) → skipped, logged with its name and field, status False
  const bad = await call(host, 'POST', `${BASE}/tools/federatedapps`, cr('bad', 'tools', 2, { spread: 'weighted', perCluster: { nope: { min: 1 } } }));
  expect(bad.status, bad.text).toBe(201);
  await waitFor(() => /FederatedApp tools\/bad is invalid; skipped/.test(readLog(env!.logFile)), { timeoutMs: 10_000, what: 'the invalid CR to be logged' });
  const line = readLog(env.logFile).split('\n').find((l) => l.includes('FederatedApp tools/bad is invalid'))!;
  expect(line).toContain('spec.placement.perCluster.nope: unknown member');
  await waitFor(async () => (await call(host, 'GET', `${BASE}/tools/federatedapps/bad`)).body?.status?.conditions?.[0]?.status === 'False', { timeoutMs: 5000, what: 'Valid=False on the invalid CR' });
  expect(Object.values(deploymentReplicas(env.sim, 'tools', 'bad')).every((r) => r === undefined)).toBe(true);
  expect(replicas('api')).toBe('3,3');

  // an invalid edit of a valid CR keeps its last valid spec (a typo does not delete a running app)
  await call(host, 'PATCH', `${BASE}/tools/federatedapps/api`, { spec: { placement: { perCluster: { nope: { max: 1 } } } } }, 'application/merge-patch+json');
  await waitFor(() => /FederatedApp tools\/api is invalid; keeping its last valid spec/.test(readLog(env!.logFile)), { timeoutMs: 10_000, what: 'the invalid edit to be logged' });
  expect(replicas('api')).toBe('3,3');

  // same namespace/name as the file app → the file wins, logged
  const other = await call(host, 'POST', `${BASE}/default/federatedapps`, cr('x', 'default', 2));
  expect(other.status, other.text).toBe(201);
  const xs = () => Object.values(deploymentReplicas(env!.sim, 'default', 'x'));
  await waitFor(() => xs().join() === '1,1', { timeoutMs: 10_000, what: 'default/x spread 1/1' });
  await call(host, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  const shadow = await call(host, 'POST', `${BASE}/shop/federatedapps`, cr('web', 'shop', 1));
  expect(shadow.status, shadow.text).toBe(201);
  await waitFor(() => /shadowed by apps of the same namespace\/name/.test(readLog(env!.logFile)), { timeoutMs: 10_000, what: 'the clash to be logged' });
  expect(fileApp().join()).toBe(fileBefore);

  // deleted → its member Deployments are removed; other apps stay
  expect((await call(host, 'DELETE', `${BASE}/tools/federatedapps/api`)).status).toBe(200);
  await waitFor(() => replicas('api') === ',', { timeoutMs: 10_000, what: 'tools/api Deployments removed on every member' });
  await call(host, 'DELETE', `${BASE}/shop/federatedapps/web`);
  await call(host, 'DELETE', `${BASE}/default/federatedapps/x`);
  await waitFor(() => xs().every((r) => r === undefined), { timeoutMs: 10_000, what: 'default/x removed' });
  expect(fileApp().join()).toBe(fileBefore);
  expect(readLog(env.logFile)).toContain('deleted the Deployment of a removed FederatedApp');
});
