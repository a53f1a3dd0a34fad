// cluster-mgr's credentials through the REAL Pulumi engine against two REAL control planes (lab):
// the Site component (infra/pulumi/components.ts) with each cluster's real `federation-member`
// synthesis, run inline by the Automation API with the `pulumi` CLI and the Kubernetes provider that
// scripts/pulumi-assets builds. Checked after `up`:
//   - the host cluster has `cluster-mgr-api-token` and `cluster-mgr-kubeconfigs` in flotilla-system;
//   - each member's kubeconfig reaches that member (its inventory server) as the member's service
//     account and is allowed what the member ClusterRole allows and nothing it does not
//     (SelfSubjectAccessReview through `kubectl auth can-i`), and is refused by the other member;
//   - neither the API token nor a member token is in the exported state, the outputs or the
//     engine's output in clear;
//   - a second `up` changes nothing and keeps the token.
// Charts and host commands are not part of this program: only the federation pieces (no chart can
// be downloaded here, and no host is reachable over SSH).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLUSTER_MGR_MEMBER, CLUSTER_MGR_MEMBER_RULES } from '../../infra/lib/cluster-mgr-rbac';
import { Site } from '../../infra/pulumi/components';
import { planCluster, type ClusterEndpoints } from '../../infra/pulumi/plan';
import { loadSite } from '../../infra/site/index';
import { FEDERATION_NAMESPACE, synthesizeCluster } from '../../infra/synth/index';
import { k8sAssets, requireK8s, startControlPlanes, type ControlPlane } from '../lab';
import { inlineStack, pulumiAssets, realPulumiWanted, requirePulumi, type InlineStack } from './engine';

const NS = FEDERATION_NAMESPACE;
let cps: ControlPlane[] = [];
let st: InlineStack | undefined;
let upError: unknown;
let tmp = '';

/** sh1's two clusters, each backed by one lab control plane (its API server stands in for the inventory's VIP). */
async function program(cpList: readonly ControlPlane[]): Promise<void> {
  const loaded = await loadSite('examples/sh1.yaml');
  if (!loaded.ok) throw new Error('examples/sh1.yaml invalid');
  const site = loaded.value;
  const clusters = site.spec.clusters.slice(0, cpList.length).map((cluster, i) => {
    // Only the federation pieces: the federation-member component (and the host's namespace).
    const synth = synthesizeCluster(site, cluster);
    const plan = planCluster({ cluster: cluster.name, charts: [], components: synth.components.filter((c) => c.component === 'federation-member') }, []);
    const endpoints: ClusterEndpoints = { apiServer: cpList[i]!.server, ingressVIPs: [], registryUrl: '', kibanaUrl: '', grafanaUrl: '', clusterMgrEndpoint: '' };
    return { plan: i === 0 ? { ...plan, federationNamespace: NS } : plan, kubeconfig: cpList[i]!.kubeconfig, endpoints, hosts: [] };
  });
  new Site('it', { clusters, secretValues: {}, ssh: { user: 'root', port: 22, privateKey: 'unused: no host plans' } });
}

beforeAll(async () => {
  if (!k8sAssets().ok || !realPulumiWanted()) return;
  tmp = mkdtempSync(join(tmpdir(), 'flotilla-cm-access-'));
  cps = await startControlPlanes([{ name: 'cm-a' }, { name: 'cm-b' }]);
  const a = pulumiAssets();
  if (!a.ok) return;
  st = await inlineStack(a.dir, 'flotilla-cm-access', () => program(cps));
  try {
    await st.up();
  } catch (e) {
    upError = e;
  }
}, 300_000);

afterAll(async () => {
  try {
    await st?.dispose({ destroy: false }); // the control planes go away with their data
  } finally {
    await Promise.all(cps.map((cp) => cp.stop()));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}, 120_000);

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

async function secretData(cp: ControlPlane, name: string): Promise<Record<string, string>> {
  const r = await cp.api<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${NS}/secrets/${name}`);
  expect(r.status, `GET secret ${name} on ${cp.name}`).toBe(200);
  return Object.fromEntries(Object.entries(r.body.data ?? {}).map(([k, v]) => [k, b64(v)]));
}

/** A request with a bearer token (TLS verified with the control plane's CA): status and JSON body. */
function withToken(cp: ControlPlane, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) };
    const req = httpsRequest(`${cp.server}${path}`, { method, ca: cp.caPem, headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? (JSON.parse(text) as unknown) : text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}
const statusWith = async (cp: ControlPlane, token: string, path: string) => (await withToken(cp, token, 'GET', path)).status;

/** A SelfSubjectAccessReview as the token's owner: 'yes' or 'no' (what `kubectl auth can-i` asks). */
async function ssar(cp: ControlPlane, token: string, verb: string, what: string): Promise<string> {
  const [resource = '', ...group] = what.split('.');
  const attrs = what.startsWith('/') ? { nonResourceAttributes: { verb, path: what } } : { resourceAttributes: { verb, resource, group: group.join('.') } };
  const r = await withToken(cp, token, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: attrs });
  expect(r.status, `SSAR ${verb} ${what}`).toBe(201);
  return (r.body as { status: { allowed: boolean } }).status.allowed ? 'yes' : 'no';
}

/** `kubectl auth can-i` with a kubeconfig (a SelfSubjectAccessReview): 'yes' or 'no'. */
async function canI(cp: ControlPlane, kubeconfig: string, args: readonly string[]): Promise<string> {
  const r = await cp.kubectl(['--kubeconfig', kubeconfig, 'auth', 'can-i', ...args]);
  return r.stdout.trim();
}

describe('ClusterMgrAccess on the real Pulumi engine and two real control planes', () => {
  it('pulumi up puts both Secrets into the host cluster; each kubeconfig is its member\'s service account with exactly the member ClusterRole', async (ctx) => {
    requireK8s(ctx);
    requirePulumi(ctx);
    expect(upError, `pulumi up failed:\n${st?.output.join('').slice(-4000)}`).toBeUndefined();
    const [a, b] = cps as [ControlPlane, ControlPlane];
    const token = await secretData(a, 'cluster-mgr-api-token');
    expect(token.token).toMatch(/^[0-9a-f]{64}$/);
    const kubeconfigs = await secretData(a, 'cluster-mgr-kubeconfigs');
    expect(Object.keys(kubeconfigs).sort()).toEqual(['sh1-a.yaml', 'sh1-b.yaml']);
    // Nothing of cluster-mgr's host-cluster Secrets on the other member.
    expect((await b.api('GET', `/api/v1/namespaces/${NS}/secrets/cluster-mgr-kubeconfigs`)).status).toBe(404);

    const sa = `system:serviceaccount:${CLUSTER_MGR_MEMBER.namespace}:${CLUSTER_MGR_MEMBER.serviceAccount}`;
    const allowed = CLUSTER_MGR_MEMBER_RULES.flatMap((r) =>
      r.nonResourceURLs ? r.verbs.map((v) => [v, r.nonResourceURLs![0]!]) : r.resources!.flatMap((res) => r.verbs.map((v) => [v, r.apiGroups![0] ? `${res}.${r.apiGroups![0]}` : res])),
    );
    const denied = [['delete', 'nodes'], ['get', 'nodes'], ['create', 'pods'], ['delete', 'namespaces'], ['update', 'deployments.apps'], ['delete', 'persistentvolumeclaims'], ['list', 'clusterroles.rbac.authorization.k8s.io'], ['get', '/metrics']];
    for (const [i, cp] of [a, b].entries()) {
      const member = i === 0 ? 'sh1-a' : 'sh1-b';
      const cfg = parse(kubeconfigs[`${member}.yaml`]!) as { clusters: { cluster: { server: string } }[] };
      expect(cfg.clusters[0]!.cluster.server, `${member}: the inventory's server`).toBe(cp.server);
      const file = join(tmp, `${member}.yaml`);
      writeFileSync(file, kubeconfigs[`${member}.yaml`]!, { mode: 0o600 });
      const who = await cp.kubectl(['--kubeconfig', file, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
      expect(who.stdout.trim(), `${member} whoami (${who.stderr})`).toBe(sa);
      // kubectl with the kubeconfig itself, then every rule's verb and the refusals as SelfSubjectAccessReviews.
      expect(await canI(cp, file, ['list', 'nodes'])).toBe('yes');
      expect(await canI(cp, file, ['delete', 'nodes'])).toBe('no');
      const bearer = (parse(kubeconfigs[`${member}.yaml`]!) as { users: { user: { token: string } }[] }).users[0]!.user.token;
      for (const [verb, what] of allowed) expect(`${member} ${verb} ${what}: ${await ssar(cp, bearer, verb!, what!)}`).toBe(`${member} ${verb} ${what}: yes`);
      for (const [verb, what] of denied) expect(`${member} ${verb} ${what}: ${await ssar(cp, bearer, verb!, what!)}`).toBe(`${member} ${verb} ${what}: no`);
      // The token is this member's: the other member's API server does not accept it (401), its own does.
      const other = i === 0 ? b : a;
      expect(await statusWith(other, bearer, '/api/v1/nodes'), `${member}'s token on the other member`).toBe(401);
      expect(await statusWith(cp, bearer, '/api/v1/nodes'), `${member}'s token on its own member`).toBe(200);
    }
  }, 180_000);

  it('no token in clear in the state, the outputs or the engine output; a second up changes nothing and keeps the token', async (ctx) => {
    requireK8s(ctx);
    requirePulumi(ctx);
    expect(upError).toBeUndefined();
    const [a, b] = cps as [ControlPlane, ControlPlane];
    const apiToken = (await secretData(a, 'cluster-mgr-api-token')).token!;
    const memberTokens = [(await secretData(a, CLUSTER_MGR_MEMBER.tokenSecret)).token!, (await secretData(b, CLUSTER_MGR_MEMBER.tokenSecret)).token!];
    const state = await st!.exportState();
    expect(state.length).toBeGreaterThan(1000);
    expect(state).toContain('cluster-mgr-api-token'); // the resource is there …
    expect(state).toContain('"ciphertext"'); // … its values encrypted
    for (const [what, v] of [['API token', apiToken], ['member token a', memberTokens[0]!], ['member token b', memberTokens[1]!]] as const) {
      expect(v.length, what).toBeGreaterThan(20);
      expect(state.includes(v), `${what} in the state in clear`).toBe(false);
      expect(state.includes(Buffer.from(v).toString('base64')), `${what} base64 in the state`).toBe(false);
      expect(st!.output.join('').includes(v), `${what} in the engine output`).toBe(false);
    }
    const outputs = JSON.stringify(await st!.stack.outputs());
    expect(outputs.includes(apiToken)).toBe(false);

    const again = await st!.up();
    const changes = Object.entries(again.summary.resourceChanges ?? {}).filter(([k]) => k !== 'same');
    const said = st!.output.join('').split('\n').filter((l) => /replac|updat|creat|delet/.test(l));
    expect(changes, `second up: nothing but "same"; the engine said:\n${said.join('\n')}`).toEqual([]);
    expect((await secretData(a, 'cluster-mgr-api-token')).token).toBe(apiToken);
  }, 180_000);
});
