// The synthesized cluster-mgr Deployment, run for real: `flotilla synth examples/sh1.yaml` gives the
// Deployment, its ConfigMap, the host-cluster RBAC and the member RBAC. Two real control planes are
// the site's clusters (sh1-a is also the host cluster holding the Lease and the FederatedApp CRs).
// The container's exact command/args/env/mounts run as a process (test/lab/pod-process.ts) with a
// real TokenRequest token of the `cluster-mgr` ServiceAccount as its in-cluster credentials and the
// members reached with TokenRequest tokens of the synthesized member ServiceAccount — the member
// ClusterRole is all it may do. One deviation from a pod: no network namespace, so the listen address
// 0.0.0.0:9464 becomes 127.0.0.1:<free port>.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { FederationMember } from '../../constructs/index';
import { CLUSTER_MGR_API_TOKEN, CLUSTER_MGR_MEMBER } from '../../infra/lib/cluster-mgr-rbac';
import { freePort, k8sAssets, labKubeconfig, makeDir, requireK8s, run, startControlPlanes, waitFor, type ControlPlane } from '../lab';
import { startPodProcess, type PodProcess } from '../lab/pod-process';
import { EXAMPLE_APP } from './harness';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };
const NS = 'flotilla-system';
const ROOT = process.cwd();
const token = randomBytes(32).toString('hex'); // what the Pulumi program generates into the Secret

let cps: ControlPlane[] = [];
let out = '';
let objects: Record<string, Obj[]> = {};
const pods: PodProcess[] = [];

const docs = (file: string): Obj[] => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Obj);

async function apply(cp: ControlPlane, objs: readonly Obj[]): Promise<void> {
  const r = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: objs.map((o) => stringify(o)).join('---\n') });
  if (r.code !== 0) throw new Error(`kubectl apply on ${cp.name}: ${r.stderr}`);
}

async function tokenFor(cp: ControlPlane, ns: string, sa: string): Promise<string> {
  const r = await cp.api<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
  if (r.status !== 201) throw new Error(`TokenRequest ${ns}/${sa} on ${cp.name}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.status.token;
}

/** The synthesized member ClusterRole with one verb left out. */
function memberRoleWithout(resource: string, verb: string): Obj {
  const chart = new Chart(new App({ outdir: '/nonexistent' }), 'm', { disableResourceNameHashes: true });
  new FederationMember(chart, 'member', { without: { resource, verb } });
  return (chart.toJson() as Obj[]).find((o) => o.kind === 'ClusterRole')!;
}

/** Starts one replica the way the kubelet would (a fresh pod token each). */
async function startReplica(name: string, secrets: Record<string, Record<string, string>> = {}): Promise<{ pod: PodProcess; url: string }> {
  const [host] = cps;
  const port = await freePort();
  const dep = objects.federation!.find((o) => o.kind === 'Deployment')!;
  const cm = objects.federation!.find((o) => o.kind === 'ConfigMap')!;
  const pod = startPodProcess({
    name,
    deployment: dep,
    entrypoint: [process.execPath, join(ROOT, 'bin/cluster-mgr.mjs')], // the image's ENTRYPOINT
    configMaps: { [cm.metadata.name]: cm.data as Record<string, string> },
    secrets: { [CLUSTER_MGR_API_TOKEN.secret]: { [CLUSTER_MGR_API_TOKEN.key]: token }, 'cluster-mgr-kubeconfigs': await memberKubeconfigs(), ...secrets },
    serviceAccount: { token: await tokenFor(host!, NS, 'cluster-mgr'), caPem: host!.caPem },
    apiServer: { host: host!.host, port: host!.port },
    argOverrides: { '0.0.0.0:9464': `127.0.0.1:${port}` },
    cwd: ROOT,
  });
  pods.push(pod);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (!pod.proc.isRunning()) throw new Error(`${name} exited:\n${pod.proc.logs().slice(-3000)}`);
      return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok;
    },
    { timeoutMs: 30_000, what: `${name} /healthz` },
  );
  return { pod, url };
}

/** The `cluster-mgr-kubeconfigs` Secret as Pulumi builds it: one key per member, its member token. */
async function memberKubeconfigs(): Promise<Record<string, string>> {
  const names = ['sh1-a', 'sh1-b'];
  const out: Record<string, string> = {};
  for (const [i, cp] of cps.entries()) {
    out[`${names[i]}.yaml`] = labKubeconfig({ name: names[i]!, server: cp.server, caPem: cp.caPem, token: await tokenFor(cp, NS, CLUSTER_MGR_MEMBER.serviceAccount) });
  }
  return out;
}

const get = (url: string, auth?: string) => fetch(url, auth ? { headers: { Authorization: `Bearer ${auth}` } } : {});
const state = async (url: string) => (await (await get(`${url}/api/state`, token)).json()) as { leader: boolean; alerts: { name: string; labels: Record<string, string> }[]; apps: { key: string; assignments: Record<string, number> }[] };
const holder = async () => (await cps[0]!.api<{ spec?: { holderIdentity?: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/cluster-mgr`)).body.spec?.holderIdentity ?? '';

beforeAll(async () => {
  if (!k8sAssets().ok) return;
  out = makeDir('synth-deployed');
  const r = await run(process.execPath, [join(ROOT, 'bin/flotilla.mjs'), 'synth', join(ROOT, 'examples/sh1.yaml'), '--out', out], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`flotilla synth: ${r.stderr}`);
  objects = {
    federation: docs(join(out, 'sh1/clusters/sh1-a/federation.k8s.yaml')),
    memberA: docs(join(out, 'sh1/clusters/sh1-a/federation-member.k8s.yaml')),
    memberB: docs(join(out, 'sh1/clusters/sh1-b/federation-member.k8s.yaml')),
  };
  cps = await startControlPlanes([
    { name: 'svc-host-a', nodes: [{ name: 'a-w1', cpu: '8', memory: '16Gi', pods: 110 }] },
    { name: 'svc-b', nodes: [{ name: 'b-w1', cpu: '8', memory: '16Gi', pods: 110 }] },
  ]);
  // Host cluster: what the Deployment needs besides itself (no ServiceMonitor or cert-manager CRDs and no kubelet here).
  await apply(cps[0]!, objects.federation!.filter((o) => !['Deployment', 'Service', 'ServiceMonitor', 'Issuer', 'Certificate'].includes(o.kind)));
  await apply(cps[0]!, objects.memberA!);
  await apply(cps[1]!, objects.memberB!);
  // The app: a FederatedApp CR in the host cluster with a ConfigMap to propagate from sh1-a.
  await apply(cps[0]!, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: 'shop' }, data: { greeting: 'hi' } },
    {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'FederatedApp',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        replicas: 4,
        propagate: [{ kind: 'ConfigMap', name: 'web-config' }],
        template: EXAMPLE_APP.template, // the simulator's example app
      },
    },
  ]);
}, 240_000);

afterAll(async () => {
  for (const p of pods.splice(0)) await p.proc.stop(10_000).catch(() => undefined);
  for (const p of pods) rmSync(p.dir, { recursive: true, force: true });
  await Promise.all(cps.map((c) => c.stop()));
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('the synthesized cluster-mgr Deployment as a process', () => {
  let first: { pod: PodProcess; url: string };

  it('leads through the real Lease, reconciles both members with the member RBAC only, serves /metrics only with the token', async (ctx) => {
    requireK8s(ctx);
    first = await startReplica('cm-1');
    expect(first.pod.argv.slice(2)).toEqual(['run', '--config', '/etc/cluster-mgr/federation.yaml', '--listen', expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
    await waitFor(async () => (await holder()).endsWith(`-${first.pod.proc.pid}`) || (await state(first.url)).leader, { timeoutMs: 20_000, what: 'cm-1 holds the Lease' });
    expect(await holder()).not.toBe('');
    // Both members get their share of the CR app, and the ConfigMap reaches sh1-b.
    await waitFor(
      async () => {
        const reps = await Promise.all(cps.map(async (c) => (await c.api<{ spec?: { replicas?: number } }>('GET', '/apis/apps/v1/namespaces/shop/deployments/web')).body.spec?.replicas ?? 0));
        return reps.every((r) => r > 0) && reps.reduce((a, b) => a + b, 0) === 4;
      },
      { timeoutMs: 30_000, what: 'web spread over sh1-a and sh1-b (4 replicas)' },
    );
    expect((await cps[1]!.api<{ data?: Record<string, string> }>('GET', '/api/v1/namespaces/shop/configmaps/web-config')).body.data).toEqual({ greeting: 'hi' });
    // HTTP: probes open, metrics and state behind the generated token.
    expect((await get(`${first.url}/healthz`)).status).toBe(200);
    expect((await get(`${first.url}/readyz`)).status).toBe(200);
    expect((await get(`${first.url}/metrics`)).status).toBe(401);
    expect((await get(`${first.url}/metrics`, 'wrong-token-wrong-token')).status).toBe(401);
    const metrics = await (await get(`${first.url}/metrics`, token)).text();
    expect(metrics).toMatch(/^cluster_mgr_leader 1$/m);
    expect(metrics).not.toMatch(/^flotilla_forbidden_total\{/m); // the member RBAC was enough
    expect(first.pod.proc.logs()).not.toMatch(/forbidden:/);
    expect(first.pod.proc.logs()).not.toContain(token); // the token never in logs
  }, 120_000);

  it('two replicas: one leads; kill -9 the leader → the other leads within leaseDuration + 2 s', async (ctx) => {
    requireK8s(ctx);
    const second = await startReplica('cm-2');
    // give the standby a few retry periods: it must stay standby while cm-1 renews
    await waitFor(async () => (await fetch(`${second.url}/readyz`)).ok, { timeoutMs: 20_000, what: 'cm-2 ready' });
    expect((await state(second.url)).leader).toBe(false);
    expect((await state(first.url)).leader).toBe(true);
    const t0 = Date.now();
    first.pod.proc.signal('SIGKILL');
    await first.pod.proc.exited;
    await waitFor(async () => (await state(second.url)).leader, { timeoutMs: 10_000, intervalMs: 50, what: 'cm-2 leads' });
    const took = Date.now() - t0;
    // leaseDuration 4 s (the inventory default) + 2 s
    expect(took).toBeLessThanOrEqual(6000);
    console.log(`failover to the standby: ${took} ms`);
    expect(await holder()).toMatch(new RegExp(`-${second.pod.proc.pid}$`));
    await second.pod.proc.stop(10_000);
  }, 90_000);

  it('one verb removed from the member ClusterRole → error log line, flotilla_forbidden_total and a FederationForbidden alert naming verb and resource', async (ctx) => {
    requireK8s(ctx);
    await apply(cps[1]!, [memberRoleWithout('pods', 'list')]);
    try {
      const cm = await startReplica('cm-3');
      await waitFor(async () => (await state(cm.url)).alerts.some((a) => a.name === 'FederationForbidden' && a.labels.member === 'sh1-b' && a.labels.verb === 'list' && a.labels.resource === 'pods'), {
        timeoutMs: 20_000,
        what: 'FederationForbidden {member=sh1-b, verb=list, resource=pods}',
      });
      const metrics = await (await get(`${cm.url}/metrics`, token)).text();
      expect(metrics).toMatch(/^flotilla_forbidden_total\{member="sh1-b",verb="list",resource="pods"\} [1-9]/m);
      const line = cm.pod.proc
        .logs()
        .split('\n')
        .find((l) => l.includes('"forbidden: '));
      expect(line && (JSON.parse(line) as { level: number; verb: string; resource: string })).toMatchObject({ level: 50, verb: 'list', resource: 'pods' });
      expect((await get(`${cm.url}/healthz`)).status).toBe(200);
      await cm.pod.proc.stop(10_000);
    } finally {
      await apply(cps[1]!, objects.memberB!);
    }
  }, 90_000);

  it('bad input: a wrong member token and a missing kubeconfig Secret key → log line, metric, alert; /healthz keeps answering and the member is picked up once its key appears', async (ctx) => {
    requireK8s(ctx);
    const good = await memberKubeconfigs();
    const wrong = { ...good, 'sh1-b.yaml': good['sh1-b.yaml']!.replace(/token: .*/, 'token: not-a-valid-token-0123456789') };
    const a = await startReplica('cm-4', { 'cluster-mgr-kubeconfigs': wrong });
    await waitFor(async () => (await state(a.url)).alerts.some((x) => x.name === 'FederationUnauthorized' && x.labels.member === 'sh1-b'), { timeoutMs: 20_000, what: 'FederationUnauthorized {member=sh1-b}' });
    expect(await (await get(`${a.url}/metrics`, token)).text()).toMatch(/^flotilla_unauthorized_total\{member="sh1-b"\} [1-9]/m);
    const line = a.pod.proc.logs().split('\n').find((l) => l.includes('"unauthorized: sh1-b'));
    expect(line && (JSON.parse(line) as { level: number }).level).toBe(50);
    expect(a.pod.proc.logs()).not.toContain('not-a-valid-token-0123456789');
    expect((await get(`${a.url}/healthz`)).status).toBe(200);
    await a.pod.proc.stop(10_000);

    const { 'sh1-b.yaml': kept, ...withoutB } = good;
    const b = await startReplica('cm-5', { 'cluster-mgr-kubeconfigs': withoutB });
    await waitFor(async () => (await state(b.url)).alerts.some((x) => x.name === 'FederationMemberKubeconfigMissing' && x.labels.member === 'sh1-b'), { timeoutMs: 20_000, what: 'FederationMemberKubeconfigMissing {member=sh1-b}' });
    expect(await (await get(`${b.url}/metrics`, token)).text()).toMatch(/^flotilla_member_kubeconfig_missing\{member="sh1-b"\} 1$/m);
    expect(b.pod.proc.logs()).toMatch(/"level":50[^\n]*member sh1-b: kubeconfig \/etc\/cluster-mgr\/kubeconfigs\/sh1-b\.yaml does not exist/);
    expect((await get(`${b.url}/healthz`)).status).toBe(200);
    // The Secret gains the key: the kubelet writes it into the volume; the daemon loads it on its next probe.
    writeFileSync(join(b.pod.dir, 'volumes', 'kubeconfigs', 'sh1-b.yaml'), kept!);
    await waitFor(async () => /^flotilla_member_kubeconfig_missing\{member="sh1-b"\} 0$/m.test(await (await get(`${b.url}/metrics`, token)).text()), { timeoutMs: 20_000, what: 'sh1-b kubeconfig loaded' });
    await waitFor(async () => !(await state(b.url)).alerts.some((x) => x.name === 'FederationMemberKubeconfigMissing'), { timeoutMs: 10_000, what: 'the alert resolved' });
    await b.pod.proc.stop(10_000);
  }, 120_000);
});
